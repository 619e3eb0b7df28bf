"""The hardened rehearsal stack for real: its running containers pass hymt verify's CIS Docker container check, the
same check fails a broken override (a privileged web app with the Docker socket), and neither the web app nor vLLM can
reach anything outside while a container on the proxy's network can. (tests/verify/test_cis.py: each item apart.)"""

from __future__ import annotations

import json
import subprocess

import pytest

from hymt.verify import cis
from hymt.verify import stack as stack_checks
from hymt.verify.commands import LocalRunner
from hymt.verify.host import HostContext, HostSettings
from hymt.verify.pins import ImagePins
from hymt.verify.result import CheckFailed
from tests.stack.conftest import PROJECT, REHEARSE
from tests.support.repo import PINS

# A public address and the cloud metadata address: what a container with a way out reaches.
OUTSIDE = (("1.1.1.1", 443), ("169.254.169.254", 80))
PROBE = """
import json, socket, sys
reached = {}
for host, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((host, port), timeout=4).close()
        reached[f"{host}:{port}"] = True
    except OSError:
        reached[f"{host}:{port}"] = False
print(json.dumps(reached))
"""


def context(project: str) -> HostContext:
    settings = HostSettings(profile="rehearsal", pins=ImagePins(vllm_image=""), compose_project=project)
    return HostContext(name="this machine", runner=LocalRunner(), settings=settings)


def container_of(stack, service: str) -> str:
    return next(c["Name"] for c in stack.containers() if c["Service"] == service)


def reached(argv: list[str]) -> dict[str, bool]:
    run = subprocess.run([*argv, "-c", PROBE, json.dumps(OUTSIDE)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_running_stack_passes_the_cis_container_items(stack):
    counted = stack_checks.check_containers_cis(context(PROJECT))
    print(f"\nCIS Docker 5 on the rehearsal stack: {counted}")
    findings = cis.container_findings(cis.parse_inspect(context(PROJECT).docker(
        "inspect", "--format", cis.INSPECT_FORMAT, *(c["Name"] for c in stack.containers())).stdout))  # fmt: skip
    assert {f.subject for f in findings} == {"vllm", "web", "proxy"}
    assert [f for f in findings if f.status == "fail"] == []
    # The CPU image runs as its own user: the GPU image's exception is not needed here.
    assert next(f for f in findings if (f.item, f.subject) == ("4.1", "vllm")).status == "pass"


BROKEN = """
services:
  web:
    privileged: true
    cap_add: [SYS_ADMIN]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
"""


def test_the_check_fails_a_broken_override(stack, tmp_path):
    override = tmp_path / "compose.broken.yaml"
    override.write_text(BROKEN)
    project = f"{PROJECT}-broken"
    env = {**stack.env, "COMPOSE_PROJECT_NAME": project,
           "COMPOSE_FILE": f"compose.yaml:compose.rehearsal.yaml:{override}"}  # fmt: skip

    def compose(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(REHEARSE), "compose", *args], env=env, capture_output=True, text=True, timeout=300)

    try:
        up = compose("up", "-d", "--no-deps", "web")
        assert up.returncode == 0, up.stderr
        with pytest.raises(CheckFailed) as failed:
            stack_checks.check_containers_cis(context(project))
        said = str(failed.value)
        assert "CIS 5.4 web: privileged" in said
        assert "CIS 5.31 web: mounts the engine's socket /var/run/docker.sock" in said
        assert "CIS 5.3 web: adds SYS_ADMIN" in said
    finally:
        down = compose("down", "--volumes", "--remove-orphans")
        assert down.returncode == 0, down.stderr


def test_the_web_app_and_vllm_have_no_way_out(stack):
    web = reached(["docker", "exec", container_of(stack, "web"), "python"])
    vllm = reached(["docker", "exec", container_of(stack, "vllm"), "python3"])
    # The same probe from the proxy's network, which has a way out: the addresses are there to be reached.
    edge = reached(["docker", "run", "--rm", "--network", f"{PROJECT}_edge", "--entrypoint", "python",
                    PINS["hymt_web_image"]])  # fmt: skip
    assert edge["1.1.1.1:443"], f"this machine reaches nothing outside ({edge}): the test cannot tell a way out"
    assert not any(web.values()), web
    assert not any(vllm.values()), vllm


def test_the_web_app_writes_only_its_tmpfs(stack):
    web = container_of(stack, "web")
    root = subprocess.run(["docker", "exec", web, "touch", "/opt/hymt/x"], capture_output=True, text=True)
    assert root.returncode != 0 and "Read-only file system" in root.stderr
    assert subprocess.run(["docker", "exec", web, "touch", "/tmp/x"], capture_output=True).returncode == 0
