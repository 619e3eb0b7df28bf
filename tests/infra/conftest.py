"""One rehearsal host for the whole session: created over the Docker SDK, reached over real SSH, removed at the end.

Its ports are published on 127.0.0.1 on ports Docker picks; its inventory, login key and known_hosts file live in a
temporary directory (next to the inventory, `up` links the repository's group_vars, as for `make rehearsal-host-up`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest

from tests.support.playbook import ROOT, PlaybookRun, ansible_env, run_playbook
from tests.support.rehearsal_hosts import rehearsal_host as rehearsal_host_of

PROVISION = ROOT / "playbooks/provision.yml"


@dataclass
class Converge:
    run: PlaybookRun
    seconds: float


def converge(host, **options) -> Converge:
    started = time.monotonic()
    run = run_playbook(PROVISION, host.inventory, timeout=1200, **options)
    return Converge(run, time.monotonic() - started)


@pytest.fixture(scope="package")
def rehearsal_host(docker_engine, tmp_path_factory):
    with rehearsal_host_of(tmp_path_factory.mktemp("rehearsal-host"), "hymt-test-host") as access:
        yield access


@pytest.fixture(scope="package")
def ssh_environment():
    """Testinfra's ansible backend calls ansible-inventory (the venv's) and reads ansible.cfg's SSH options."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ansible_env().items():
            if os.environ.get(name) != value:
                patch.setenv(name, value)
        yield


@pytest.fixture(scope="package")
def first_converge(rehearsal_host) -> Converge:
    return converge(rehearsal_host)


@pytest.fixture(scope="package")
def host(rehearsal_host, first_converge, ssh_environment):
    """The provisioned host through Testinfra's ansible backend: SSH with the inventory's key and known_hosts."""
    import testinfra

    return testinfra.get_host(f"ansible://{rehearsal_host.name}?ansible_inventory={rehearsal_host.inventory}&sudo=true")
