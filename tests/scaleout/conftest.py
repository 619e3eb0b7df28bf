"""`make rehearse GPU_HOSTS=2` for real: two GPU rehearsal hosts (each with the CPU vLLM and the web app) and an edge
host running Caddy in front of them, on networks of the tests' own (a private subnet, free ports), removed at the end
with `make rehearsal-host-down GPU_HOSTS=2` (which must leave nothing)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from tests.deploy.conftest import run_make
from tests.support.net import free_port
from tests.support.playbook import ansible_env

GPU_HOSTS = 2


@dataclass
class Fleet:
    prefix: str
    inventory: Path
    variables: list[str]
    made: subprocess.CompletedProcess
    seconds: float
    # The extra variables the fleet is deployed with (the rehearsal's ANSIBLE_ARGS, and what a test changed for good):
    # a deploy with these gives no GPU host a new release.
    settings: str
    hosts: dict = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.made.stdout + self.made.stderr

    @property
    def data(self) -> dict:
        return yaml.safe_load(self.inventory.read_text())["all"]

    @property
    def url(self) -> str:
        return self.data["children"]["rehearsal"]["hosts"][self.edge]["hymt_public_url"]

    @property
    def gpu_hosts(self) -> list[str]:
        return list(self.data["children"]["gpu_hosts"]["hosts"])

    @property
    def edge(self) -> str:
        return next(iter(self.data["children"]["edge"]["hosts"]))

    def private_address(self, name: str) -> str:
        return self.data["children"]["rehearsal"]["hosts"][name]["hymt_private_address"]

    def make(self, target: str, *extra: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        return run_make(target, *self.variables, *extra, timeout=timeout)

    def host(self, name: str):
        """A host of the fleet through Testinfra's ansible backend (the inventory's key and known_hosts, sudo)."""
        import testinfra

        if name not in self.hosts:
            self.hosts[name] = testinfra.get_host(f"ansible://{name}?ansible_inventory={self.inventory}&sudo=true")
        return self.hosts[name]

    def translation_requests(self, name: str) -> int:
        """How many translation requests the GPU host's web app has answered, whatever the answer (its /metrics on
        the internal network): what the edge has sent it."""
        script = (
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/metrics', timeout=5)"
            ".read().decode())"
        )
        metrics = self.host(name).check_output(f"docker exec hymt-web-1 python3 -c {quote(script)}")
        pattern = r'^hymt_web_requests_total\{[^}]*route="/api/translate"[^}]*\} ([0-9.e+]+)$'
        return int(sum(float(value) for value in re.findall(pattern, metrics, flags=re.MULTILINE)))


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def translate(
    url: str, text: str = "Good morning", target: str = "zh", timeout: float = 60, auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(f"{url}/api/translate", json={"text": text, "target": target}, timeout=timeout, auth=auth)


def leftovers(prefix: str) -> list[str]:
    found = []
    for kind, listing, form in (
        ("container", ["docker", "ps", "-a"], "{{.Names}}"),
        ("volume", ["docker", "volume", "ls"], "{{.Name}}"),
        ("network", ["docker", "network", "ls"], "{{.Name}}"),
    ):
        names = subprocess.run([*listing, "--format", form], capture_output=True, text=True, check=True).stdout
        found += [f"{kind} {n}" for n in names.split() if n.startswith(prefix)]
    return found


@pytest.fixture(scope="package")
def fleet(docker_engine, tmp_path_factory) -> Iterator[Fleet]:
    prefix = f"hymt-test-fleet-{secrets.token_hex(3)}"
    directory = tmp_path_factory.mktemp("fleet")
    inventory = directory / "inventory.yml"
    settings = directory / "settings.yml"
    settings.write_text(yaml.safe_dump({"stack_env": {"HYMT_CLIENT_RATE": 6000, "HYMT_CLIENT_BURST": 1000}}))
    # The images' archives in a cache of its own: the other packages' rehearsals export theirs at the same time.
    # Every request of the tests comes from this one address, which the per-client allowance would soon refuse.
    ansible_args = f"-e images_control_cache={directory / 'images'} -e @{settings}"
    variables = [
        f"GPU_HOSTS={GPU_HOSTS}",
        f"REHEARSAL_FLEET={prefix}",
        f"REHEARSAL_INVENTORY={inventory}",
        f"REHEARSAL_HTTP_PORT={free_port()}",
        f"REHEARSAL_HTTPS_PORT={free_port()}",
        # A subnet of its own, beside a user's fleet (10.213.0.0/24) and the single-host rehearsals.
        f"REHEARSAL_PRIVATE_SUBNET=10.214.{secrets.randbelow(250) + 1}.0/24",
        f"ANSIBLE_ARGS={ansible_args}",
    ]
    started = time.monotonic()
    made = run_make("rehearse", *variables, timeout=3000)
    fleet = Fleet(prefix, inventory, variables, made, time.monotonic() - started, ansible_args)
    try:
        assert made.returncode == 0, f"make rehearse GPU_HOSTS={GPU_HOSTS} failed:\n{fleet.output[-8000:]}"
        print(f"\nmake rehearse GPU_HOSTS={GPU_HOSTS} from nothing: {fleet.seconds:.0f} s")
        with pytest.MonkeyPatch.context() as patch:
            for variable, value in ansible_env().items():
                if os.environ.get(variable) != value:
                    patch.setenv(variable, value)
            yield fleet
    finally:
        down = fleet.make("rehearsal-host-down", timeout=600)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not leftovers(prefix), f"make rehearsal-host-down GPU_HOSTS={GPU_HOSTS} left {leftovers(prefix)}"
