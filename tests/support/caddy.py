"""compose/Caddyfile in the pinned Caddy image, in front of a gateway served on the Docker bridge (tests/support/
gateway.serving(..., host=bridge_gateway())), as the stack's proxy is in front of its web app."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import require
from tests.support.repo import PINS, ROOT

CADDY = PINS["hymt_caddy_image"]


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def bridge_gateway() -> str:
    """Where containers on Docker's default bridge reach the host."""
    require(subprocess.run(["docker", "image", "inspect", CADDY], capture_output=True).returncode == 0,
            f"{CADDY} is missing: run 'make standins'")  # fmt: skip
    config = json.loads(docker("network", "inspect", "bridge", "--format", "{{json (index .IPAM.Config 0)}}"))
    if config.get("Gateway"):
        return config["Gateway"]
    # Some engines leave out a gateway they chose themselves: it is the subnet's first address (docker0's).
    return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


@contextmanager
def caddy_in_front(gateway_url: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """A Caddy container with compose/Caddyfile proxying to the gateway at `gateway_url`; yields (its name, its
    published base URL) once /healthz answers through it, and removes it afterwards."""
    name = f"hymt-test-proxy-{uuid.uuid4().hex[:8]}"
    caddyfile = workdir / "Caddyfile"
    port = gateway_url.rsplit(":", 1)[1]
    caddyfile.write_text((ROOT / "compose/Caddyfile").read_text().replace("web:8000", f"web:{port}"))
    try:
        docker("create", "--name", name, "--add-host", "web:host-gateway", "--publish", "127.0.0.1::80",
               "--env", "HYMT_SITE_ADDRESS=:80", CADDY)  # fmt: skip
        docker("cp", str(caddyfile), f"{name}:/etc/caddy/Caddyfile")
        docker("start", name)
        front = "http://" + docker("port", name, "80/tcp").split()[0]
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=front, timeout=10, trust_env=False) as client:
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the proxy did not reach the gateway"
                time.sleep(0.2)
        yield name, front
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)
