"""The client address behind the stack's proxy: compose/Caddyfile in the pinned Caddy image in front of the gateway,
trusting the proxy's network as compose configures it. A client cannot pick the address its limits are counted under
by sending its own X-Forwarded-For: Caddy replaces it with the address it sees."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tests.support.caddy import bridge_gateway, caddy_in_front
from tests.support.fake_openai import running
from tests.support.gateway import serving
from tests.support.web_deployment import gateway_settings

pytestmark = pytest.mark.docker

BODY = {"text": "Hello", "target": "fr", "source": "en"}


def test_a_forged_x_forwarded_for_through_the_stacks_proxy_changes_nothing(docker_engine, tmp_path):
    bridge = bridge_gateway()
    # One request per client address a minute: a second request counted under the same address is refused.
    with (
        running() as fake,
        serving(
            gateway_settings(
                fake, client_burst=1, client_rate=1, forwarded_allow_ips="172.16.0.0/12,192.168.0.0/16,10.0.0.0/8"
            ),
            host=bridge,  # where containers on the default bridge reach the host
        ) as url,
        caddy_in_front(url, tmp_path) as (proxy, front),
        httpx.Client(base_url=front, timeout=10, trust_env=False) as client,
    ):
        first = client.post("/api/translate", json=BODY, headers={"X-Forwarded-For": "198.51.100.1"})
        forged = client.post("/api/translate", json=BODY, headers={"X-Forwarded-For": "198.51.100.2"})
        # And the gateway believes the proxy: a request from the proxy's container counts under the address the
        # proxy names (a new client here), not under the proxy's own (whose allowance is spent by now).
        port = url.rsplit(":", 1)[1]
        told = subprocess.run(
            ["docker", "exec", proxy, "wget", "-q", "-O", "-", "--header", "Content-Type: application/json",
             "--header", "X-Forwarded-For: 10.9.9.9", "--post-data", json.dumps(BODY),
             f"http://web:{port}/api/translate"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert first.status_code == 200, first.text
    # Without Caddy replacing the header, 198.51.100.2 would be a new client with an allowance of its own.
    assert forged.status_code == 429, forged.text
    assert forged.headers["Retry-After"].isdigit()
    assert told.returncode == 0 and "translation" in json.loads(told.stdout), told.stderr
