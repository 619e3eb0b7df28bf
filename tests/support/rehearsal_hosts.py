"""Rehearsal hosts for tests: uniquely named, on ports Docker picks (published on 127.0.0.1), state in a test's own
directory, so that tests never touch the default host `make rehearsal-host-up` makes."""

from __future__ import annotations

from pathlib import Path

from hymt_dev.rehearsal_host import HostSettings


def host_settings(name: str, directory: Path) -> HostSettings:
    return HostSettings(
        name=name,
        ssh_port=None,
        http_port=None,
        https_port=None,
        state_dir=directory / "state",
        inventory=directory / "inventory.yml",
    )
