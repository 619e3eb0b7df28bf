"""The quick local stack (tools/scripts/stack, what `make stack-up` runs) started by tests on this machine's engine,
under a Compose project name of their own and free ports, so it never touches a user's stack; torn down with nothing
left behind. tests/stack runs the plain rehearsal stack, tests/monitoring the same with the monitoring overlay."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port
from tests.support.repo import ROOT

REHEARSE = ROOT / "tools/scripts/stack"
MODEL_DIR = ROOT / ".hymt/models/hymt-rehearsal"


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


def project_leftovers(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in ("container", "network", "volume"):
        cmd = ["docker", kind, "ls", "-q", "--filter", label] + (["--all"] if kind == "container" else [])
        found += [f"{kind} {x}" for x in subprocess.run(cmd, capture_output=True, text=True).stdout.split()]
    return found


@contextmanager
def local_stack(project: str, state_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """The stack up and verified (tools/scripts/stack up), then down with nothing of `project` left."""
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        "HYMT_HTTP_PORT": str(free_port()),
        "HYMT_HTTPS_PORT": str(free_port()),
        "HYMT_STATE_DIR": str(state_dir),
        "HYMT_BIN": str(ROOT / ".venv/bin/hymt"),
        **(extra_env or {}),
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
        print(f"\n{project} up, verified, in {seconds:.0f} s at {stack.url}")
        yield stack
    finally:
        down = subprocess.run([str(REHEARSE), "down"], env=env, capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, down.stderr
        assert not project_leftovers(project), f"left behind: {project_leftovers(project)}"
