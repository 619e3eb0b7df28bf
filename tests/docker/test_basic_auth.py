"""Basic auth at the edge: compose/Caddyfile in the pinned Caddy image with the accounts file the stack role writes
(its template, from hymt_basic_auth_users, a bcrypt hash made by the image's `caddy hash-password`). Without the file
the site is open; with it everything but /healthz and /readyz needs a login; and the gateway's access keys, sent as
X-API-Key (as the page does), still work behind it."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.ansible.test_stack_access import render
from tests.support.caddy import CADDY, bridge_gateway, caddy_in_front, docker
from tests.support.fake_openai import running
from tests.support.gateway import serving
from tests.support.web_deployment import gateway_settings

pytestmark = pytest.mark.docker

BODY = {"text": "Hello", "target": "fr", "source": "en"}
PASSWORD = "correct horse battery"
KEY = "edge-and-key-41c9e2"


def test_basic_auth_at_the_proxy_guards_all_but_the_health_checks(docker_engine, tmp_path):
    bridge = bridge_gateway()
    password_hash = docker("run", "--rm", CADDY, "caddy", "hash-password", "--plaintext", PASSWORD).strip()
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    users = [{"user": "ann", "password_hash": password_hash}]
    accounts = render(rendered, stack_access_keys=[], stack_basic_auth_users=users)
    assert "ann " + password_hash in accounts["basic_auth.caddy"]
    keys = tmp_path / "keys"
    keys.write_text(hashlib.sha256(KEY.encode()).hexdigest() + " edge\n", encoding="utf-8")
    with (
        running() as fake,
        serving(gateway_settings(fake, access_keys_file=str(keys)), host=bridge) as url,
        caddy_in_front(url, tmp_path) as (proxy, front),
        httpx.Client(base_url=front, timeout=10, trust_env=False) as client,
    ):
        open_page = client.get("/")
        # The role's accounts file where compose mounts access/proxy, then a reload.
        docker("exec", proxy, "mkdir", "-p", "/etc/caddy/access")
        docker("cp", str(rendered / "basic_auth.caddy"), f"{proxy}:/etc/caddy/access/basic_auth.caddy")
        docker("exec", proxy, "caddy", "reload", "--config", "/etc/caddy/Caddyfile")
        login = ("ann", PASSWORD)
        answers = {
            "healthz": client.get("/healthz"),
            "readyz": client.get("/readyz"),
            "page": client.get("/"),
            "info": client.get("/api/info"),
            "wrong password": client.get("/", auth=("ann", "wrong")),
            "page logged in": client.get("/", auth=login),
            "login, no key": client.post("/api/translate", json=BODY, auth=login),
            "login and key": client.post("/api/translate", json=BODY, auth=login, headers={"X-API-Key": KEY}),
            "key, no login": client.post("/api/translate", json=BODY, headers={"X-API-Key": KEY}),
        }
    assert open_page.status_code == 200  # no accounts file: the site is open
    status = {name: answer.status_code for name, answer in answers.items()}
    assert status == {
        "healthz": 200,
        "readyz": status["readyz"],  # the fake upstream's readiness, whatever it is ...
        "page": 401,
        "info": 401,
        "wrong password": 401,
        "page logged in": 200,
        "login, no key": 401,
        "login and key": 200,
        "key, no login": 401,
    }, {name: answer.text[:200] for name, answer in answers.items()}
    assert status["readyz"] != 401  # ... but never a login
    assert answers["page"].headers["WWW-Authenticate"].startswith("Basic")
    assert answers["login, no key"].json()["error"]["code"] == "access_key_required"  # the gateway's own answer
    assert answers["login and key"].json()["translation"]
