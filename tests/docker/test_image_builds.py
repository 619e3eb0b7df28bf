"""Image builds use the repository root as context: .dockerignore lets through what Dockerfiles copy (the sources,
build/ca, build/wheels) and keeps out the rest (virtual environments, git, other build outputs, secrets)."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.conftest import require
from tests.support.repo import PINS, ROOT

pytestmark = pytest.mark.docker

DEBIAN_IMAGE = PINS["hymt_debian_image"]

SENT = [
    "app/hymt_web/main.py",
    "tools/hymt/core/languages.py",
    "compose/compose.yaml",
    "inventory/rehearsal.example.yml",
    "inventory/group_vars/all/versions.yml",
    "build/ca/extra-ca.crt",
    "build/wheels/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl",
    "pyproject.toml",
    "constraints.txt",
]
KEPT_OUT = [
    ".git/HEAD",
    ".venv/bin/python",
    "tools/hymt/__pycache__/core.cpython-311.pyc",
    "hymt.egg-info/PKG-INFO",
    ".pytest_cache/README.md",
    "build/standins/debian-bookworm-minbase.tar",
    "build/bundle/images.tar",
    ".hymt/model/model.safetensors",
    "artifacts/report.html",
    "inventory/production.yml",
    "inventory/host_vars/gpu1.yml",
    "inventory/group_vars/all/vault.yml",
    "compose/.env",
    "app/node_modules/left-pad/index.js",
]


def test_dockerignore_sends_what_builds_use_and_nothing_else(docker_engine, tmp_path):
    require(
        subprocess.run(["docker", "image", "inspect", DEBIAN_IMAGE], capture_output=True).returncode == 0,
        f"{DEBIAN_IMAGE} is missing; run 'make standins'",
    )
    context = tmp_path / "context"
    for name in SENT + KEPT_OUT:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    shutil.copy(ROOT / ".dockerignore", context / ".dockerignore")
    (context / "Dockerfile.probe").write_text(f"FROM {DEBIAN_IMAGE}\nCOPY . /context\n")
    tag = f"hymt-test-a-context:{uuid.uuid4().hex[:10]}"
    try:
        subprocess.run(
            ["docker", "build", "--quiet", "--pull=false", "-f", str(context / "Dockerfile.probe"), "-t", tag,
             str(context)],
            capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        listing = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", tag, "find", "/context", "-type", "f"],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout.split()  # fmt: skip
    finally:
        subprocess.run(["docker", "rmi", "--force", tag], capture_output=True, check=False)
    received = {path.removeprefix("/context/") for path in listing}
    assert set(SENT) <= received
    assert not received & set(KEPT_OUT)
