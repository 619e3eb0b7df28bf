"""`make rehearse` for real, on a rehearsal host of the tests' own: uniquely named, on free ports of its own,
its inventory in a temporary directory, removed with `make rehearse-down` at the end (which must leave nothing)."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.net import free_port
from tests.support.playbook import ansible_env
from tests.support.repo import ROOT


@dataclass
class Rehearsal:
    name: str
    inventory: Path
    made: subprocess.CompletedProcess  # the `make rehearse` that made it
    seconds: float

    @property
    def output(self) -> str:
        return self.made.stdout + self.made.stderr

    @property
    def host_vars(self) -> dict:
        return yaml.safe_load(self.inventory.read_text())["all"]["children"]["rehearsal"]["hosts"][self.name]

    @property
    def url(self) -> str:
        return self.host_vars["hymt_public_url"]

    def make(self, target: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        return make(target, self.name, self.inventory, timeout)


# The published ports (SSH, HTTP, HTTPS) of each rehearsal host the package made, by name.
PORTS: dict[str, tuple[int, int, int]] = {}


def make(target: str, name: str, inventory: Path, timeout: float) -> subprocess.CompletedProcess:
    variables = [f"REHEARSAL_HOST={name}", f"REHEARSAL_INVENTORY={inventory}"]
    # Ports of its own, chosen here rather than by Docker: a restart of the host (test_faults.py) keeps them, as a
    # rebooted server keeps its address.
    ports = zip(("SSH", "HTTP", "HTTPS"), PORTS[name], strict=True)
    variables += [f"REHEARSAL_{port}_PORT={number}" for port, number in ports]
    return run_make(target, *variables, timeout=timeout)


def run_make(*arguments: str, timeout: float) -> subprocess.CompletedProcess:
    """`make <arguments>` in the checkout, its output kept, its exit code left to the caller."""
    return subprocess.run(
        ["make", *arguments], cwd=ROOT, env=make_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def make_env() -> dict[str, str]:
    """The environment of a make run of the suite's own (make test -> pytest -> make): without the outer run's flags."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def leftovers(name: str) -> list[str]:
    found = []
    for kind, listing in (("container", ["docker", "ps", "-a"]), ("volume", ["docker", "volume", "ls"])):
        names = subprocess.run(
            [*listing, "--format", "{{.Names}}" if kind == "container" else "{{.Name}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        found += [f"{kind} {n}" for n in names if n.startswith(name)]
    return found


@pytest.fixture(scope="package")
def rehearsal(docker_engine, tmp_path_factory) -> Iterator[Rehearsal]:
    name = f"hymt-test-rehearse-{secrets.token_hex(3)}"
    PORTS[name] = (free_port(), free_port(), free_port())
    inventory = tmp_path_factory.mktemp("rehearse") / "inventory.yml"
    started = time.monotonic()
    run = make("rehearse", name, inventory, timeout=2400)
    rehearsal = Rehearsal(name, inventory, run, time.monotonic() - started)
    try:
        assert run.returncode == 0, f"make rehearse failed ({run.returncode}):\n{rehearsal.output[-6000:]}"
        print(f"\nmake rehearse from nothing: {rehearsal.seconds:.0f} s")
        yield rehearsal
    finally:
        down = make("rehearse-down", name, inventory, timeout=600)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not leftovers(name), f"make rehearse-down left {leftovers(name)}"
        assert not inventory.exists(), "make rehearse-down left the inventory"


@pytest.fixture(scope="package")
def host(rehearsal):
    """The rehearsal host through Testinfra's ansible backend (the inventory's key and known_hosts, sudo)."""
    import testinfra

    with pytest.MonkeyPatch.context() as patch:
        for variable, value in ansible_env().items():
            if os.environ.get(variable) != value:
                patch.setenv(variable, value)
        yield testinfra.get_host(f"ansible://{rehearsal.name}?ansible_inventory={rehearsal.inventory}&sudo=true")
