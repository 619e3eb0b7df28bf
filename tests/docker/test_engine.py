"""`make docker` (tools/scripts/ensure-docker) leaves a working engine with Compose v2, refuses the snap package and
tells a user who cannot use Docker what to do."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import require
from tests.support.repo import PINS, ROOT

pytestmark = pytest.mark.docker

ENSURE_DOCKER = ROOT / "tools/scripts/ensure-docker"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NOBODY = 65534


def ensure_docker(env: dict[str, str] | None = None, as_user: int | None = None) -> subprocess.CompletedProcess:
    command = [str(ENSURE_DOCKER)]
    if as_user is not None:
        command = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *command]
    return subprocess.run(
        command, env=env, cwd="/" if as_user else ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=True).stdout.strip()


def write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_ensure_docker_accepts_the_running_engine_and_reports_its_versions(docker_engine):
    result = ensure_docker()
    assert result.returncode == 0, result.stderr
    server, client = docker("version", "--format", "{{.Server.Version}} {{.Client.Version}}").split()
    assert f"server {server}, client {client}" in result.stderr


def test_compose_is_version_2(docker_engine):
    assert docker("compose", "version", "--short").lstrip("v").split(".")[0] == "2"


def test_the_engine_runs_a_container(docker_engine):
    image = PINS["hymt_debian_image"]
    require(
        subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0,
        f"{image} is missing; run 'make standins'",
    )
    name = f"hymt-test-a-engine-{uuid.uuid4().hex[:8]}"
    try:
        assert docker("run", "--rm", "--name", name, "--network", "none", image, "echo", "container ran") == (
            "container ran"
        )
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


# The snap package is refused however it shows itself; each fake below imitates one of its signs on PATH.


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    return directory


def env_with(fake_bin: Path) -> dict[str, str]:
    return {"PATH": f"{fake_bin}:{SYSTEM_PATH}", "HOME": str(fake_bin.parent), "LANG": "C.UTF-8"}


def assert_refused_as_snap(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 1
    assert "snap package" in result.stderr
    assert "snap remove" in result.stderr and "make docker" in result.stderr


def test_refuses_docker_commands_that_are_snap_launchers(docker_engine, fake_bin):
    # A snap's commands are /snap/bin/NAME -> /usr/bin/snap; here a fake launcher named snap stands in for it.
    launcher = write_script(fake_bin.parent / "snap", "exit 0\n")
    (fake_bin / "docker").symlink_to(launcher)
    assert_refused_as_snap(ensure_docker(env_with(fake_bin)))


def test_refuses_an_engine_that_keeps_its_data_under_var_snap(docker_engine, fake_bin):
    write_script(
        fake_bin / "docker",
        'if [ "$1" = info ]; then echo /var/snap/docker/common/var-lib-docker; exit 0; fi\nexit 1\n',
    )
    assert_refused_as_snap(ensure_docker(env_with(fake_bin)))


def test_refuses_when_snap_lists_docker(docker_engine, fake_bin):
    write_script(fake_bin / "snap", '[ "$1 $2" = "list docker" ] && exit 0\nexit 1\n')
    assert_refused_as_snap(ensure_docker(env_with(fake_bin)))


def test_accepts_the_engine_when_snap_does_not_list_docker(docker_engine, fake_bin):
    write_script(fake_bin / "snap", 'echo "error: no matching snaps installed" >&2\nexit 1\n')
    result = ensure_docker(env_with(fake_bin))
    assert result.returncode == 0, result.stderr


# A user who may not use Docker is told what to do. Run as nobody: the suite runs as root, which ensure-docker would
# answer by installing and starting an engine.


def as_nobody_possible() -> bool:
    return os.geteuid() == 0


def test_without_an_engine_a_user_is_told_to_install_docker(docker_engine, tmp_path):
    require(as_nobody_possible(), "needs root to run ensure-docker as another user")
    env = {"PATH": SYSTEM_PATH, "HOME": "/", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = ensure_docker(env, as_user=NOBODY)
    assert result.returncode == 1
    assert "no Docker engine is reachable" in result.stderr
    assert "https://docs.docker.com/engine/install/" in result.stderr
    assert "sudo make docker" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_user_outside_the_docker_group_is_told_to_join_it(docker_engine):
    require(as_nobody_possible(), "needs root to run ensure-docker as another user")
    socket = Path("/var/run/docker.sock")
    require(socket.is_socket(), "the engine does not listen on /var/run/docker.sock")
    require(not socket.stat().st_mode & stat.S_IWOTH, "/var/run/docker.sock is open to every user")
    result = ensure_docker({"PATH": SYSTEM_PATH, "HOME": "/"}, as_user=NOBODY)
    assert result.returncode == 1
    assert "this user may not use it" in result.stderr
    assert "usermod -aG docker" in result.stderr
