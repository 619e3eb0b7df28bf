"""The rehearsal stack for real on the local Docker engine: CPU vLLM with the rehearsal model, the web app, Caddy.

One stack for the whole module, started the way `make stack-up` starts it (tools/scripts/stack up, which also
runs `hymt verify`), under its own Compose project name and free ports so it never touches a user's rehearsal, and
torn down at the end with nothing left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require
from tests.support.net import free_port
from tests.support.repo import PINS, ROOT

REHEARSE = ROOT / "tools/scripts/stack"
MODEL_DIR = ROOT / ".hymt/models/hymt-rehearsal"
PROJECT = "hymt-test-stack"


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    up_output: str
    seconds_to_ready: float

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(REHEARSE), "compose", *args], env=self.env, capture_output=True, text=True, check=check, timeout=600
        )

    def containers(self) -> list[dict]:
        out = self.compose("ps", "--all", "--format", "json").stdout
        # Compose 2.26 prints one JSON object per line (older releases a list).
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [r for row in rows for r in (row if isinstance(row, list) else [row])]

    @property
    def api_key(self) -> str:
        """The key the stack script generated, from its local.env (tools/scripts/stack: $HYMT_STATE_DIR/local-stack)."""
        local_env = Path(self.env["HYMT_STATE_DIR"]) / "local-stack/local.env"
        return local_env.read_text().split("HYMT_API_KEY=")[1].split()[0]


def images_present(*names: str) -> bool:
    return all(subprocess.run(["docker", "image", "inspect", n], capture_output=True).returncode == 0 for n in names)


def project_leftovers() -> list[str]:
    label = f"label=com.docker.compose.project={PROJECT}"
    found = []
    for kind in ("container", "network", "volume"):
        cmd = ["docker", kind, "ls", "-q", "--filter", label] + (["--all"] if kind == "container" else [])
        found += [f"{kind} {x}" for x in subprocess.run(cmd, capture_output=True, text=True).stdout.split()]
    return found


@pytest.fixture(scope="package")
def stack(docker_engine, tmp_path_factory) -> Iterator[Stack]:

    pins = PINS
    needed = (pins["hymt_vllm_cpu_image"], pins["hymt_web_image"], pins["hymt_caddy_image"])
    require(images_present(*needed), f"images {needed} are missing: run 'make stack-up' or 'make test'")
    require((MODEL_DIR / "config.json").exists(), "no rehearsal model: run 'make rehearsal-model'")
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": PROJECT,
        "HYMT_HTTP_PORT": str(free_port()),
        "HYMT_HTTPS_PORT": str(free_port()),
        "HYMT_STATE_DIR": str(tmp_path_factory.mktemp("hymt-state")),
        "HYMT_BIN": str(ROOT / ".venv/bin/hymt"),
    }
    started = time.monotonic()
    up = subprocess.run([str(REHEARSE), "up"], env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    stack = Stack(
        url=up.stdout.strip().splitlines()[-1] if up.stdout.strip() else "",
        env=env,
        up_output=up.stdout + up.stderr,
        seconds_to_ready=seconds,
    )
    try:
        assert up.returncode == 0, f"stack up failed ({up.returncode}):\n{stack.up_output[-4000:]}"
        print(f"\nrehearsal stack up, verified, in {seconds:.0f} s at {stack.url}")
        yield stack
    finally:
        down = subprocess.run([str(REHEARSE), "down"], env=env, capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, down.stderr
        assert not project_leftovers(), f"left behind: {project_leftovers()}"
