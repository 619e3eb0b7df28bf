"""Rehearsal hosts for tests: each uniquely named, its ports published on 127.0.0.1 where Docker picks them, its
inventory, login key and known_hosts in a directory of the test's, removed at the end, so that tests never touch the
default host `make rehearsal-host-up` makes."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hymt_dev.rehearsal_host import HostSettings
from tests.conftest import require


def host_settings(name: str, directory: Path) -> HostSettings:
    return HostSettings(
        name=name,
        ssh_port=None,
        http_port=None,
        https_port=None,
        state_dir=directory / "state",
        inventory=directory / "inventory.yml",
    )


@contextmanager
def rehearsal_host(directory: Path, prefix: str) -> Iterator:
    """A running rehearsal host (hymt_dev.rehearsal_host.HostAccess) named `prefix-<random>`; skipped (a failure in
    CI) when its image cannot be built."""
    from hymt_dev.rehearsal_host import RehearsalHostError, build_image, down, up

    settings = host_settings(f"{prefix}-{secrets.token_hex(4)}", directory)
    try:
        build_image(settings.image)
    except RehearsalHostError as error:
        require(False, str(error))
    try:
        yield up(settings)
    finally:
        down(settings)


def container_address(name: str) -> str:
    """The container's address on its Docker network: where "outside" reaches a rehearsal host."""
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name],
        capture_output=True,
        text=True,
        check=True,
    )
    return inspected.stdout.split()[0]


def load_image(access, image: str) -> None:
    """Move `image` from this machine's engine into the host's (hymt_dev.rehearsal_host.HostAccess), the way images
    reach hosts without a registry: docker save | docker load."""
    saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    loaded = subprocess.run(
        access.ssh_command("sudo", "docker", "load"), stdin=saved.stdout, capture_output=True, text=True
    )
    saved.stdout.close()
    assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr
