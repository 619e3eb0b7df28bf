"""The stack checks against real containers on the local Docker engine (through the local runner): a Compose project
of stand-in services, one healthy, one whose health check fails, one crash-looping. Docker's own answers, not
recorded ones; the API key in the containers' environment never reaches the report."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

from hymt.verify.commands import LocalRunner
from hymt.verify.host import HostContext, HostSettings
from hymt.verify.result import CheckFailed
from hymt.verify.stack import check_restarts, check_services
from tests.support.net import wait_until
from tests.verify.hosts import PINS

pytestmark = pytest.mark.docker
KEY = "sk-" + secrets.token_hex(16)
IMAGE = yaml.safe_load((Path(__file__).resolve().parents[2] / "inventory/group_vars/all/versions.yml").read_text())[
    "hymt_debian_image"
]


@pytest.fixture(scope="module")
def project(docker_engine, tmp_path_factory):
    name = f"hymt-verify-test-{secrets.token_hex(4)}"
    directory = tmp_path_factory.mktemp("stack")
    health = {"interval": "1s", "timeout": "2s", "retries": 1, "start_period": "0s"}
    compose = {
        "services": {
            "vllm": {"image": IMAGE, "command": ["sleep", "infinity"], "environment": {"VLLM_API_KEY": KEY},
                     "healthcheck": {"test": ["CMD", "true"], **health}, "init": True},
            "web": {"image": IMAGE, "command": ["sleep", "infinity"], "environment": {"HYMT_API_KEY": KEY},
                    "healthcheck": {"test": ["CMD", "false"], **health}, "init": True},
            "proxy": {"image": IMAGE, "command": ["sh", "-c", "exit 3"], "restart": "always"},
        }
    }  # fmt: skip
    (directory / "compose.yaml").write_text(yaml.safe_dump(compose))
    base = ["docker", "compose", "--project-directory", str(directory), "-p", name]
    subprocess.run([*base, "up", "-d"], check=True, capture_output=True, timeout=300)
    try:
        yield name
    finally:
        subprocess.run([*base, "down", "--volumes", "--timeout", "1"], capture_output=True, timeout=300)


def context(project: str) -> HostContext:
    return HostContext("this machine", LocalRunner(), HostSettings(profile="rehearsal", pins=PINS,
                                                                   compose_project=project))  # fmt: skip


def test_unhealthy_and_crash_looping_containers_fail_with_docker_s_own_answers(project):
    def settled() -> bool:
        found = {c.service: c for c in context(project).containers}
        return found["web"].health == "unhealthy" and found["proxy"].restarts >= 3 and found["vllm"].health == "healthy"

    wait_until(settled, "web unhealthy, proxy restarted 3 times, vllm healthy", timeout=90, interval=0.5)
    checked = context(project)
    with pytest.raises(CheckFailed) as services:
        check_services(checked)
    said = str(services.value)
    assert "web: unhealthy, health check failing" in said
    assert "proxy: restarting" in said or "proxy: exited" in said
    assert "fine: vllm healthy" in said
    with pytest.raises(CheckFailed, match=r"proxy (is restarting now|restarted \d+ times)"):
        check_restarts(checked)
    assert KEY not in said


def test_the_containers_are_read_without_their_environment(project):
    found = context(project).containers
    assert {c.service for c in found} == {"vllm", "web", "proxy"}
    assert all(KEY not in repr(c) for c in found)
    healthy = next(c for c in found if c.service == "vllm")
    assert healthy.state == "running" and healthy.image == IMAGE and healthy.restarts == 0
