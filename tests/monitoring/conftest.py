"""The monitoring profile: its rules and configuration checked by promtool in the pinned Prometheus image (the
stand-in from Debian's package where the official image cannot be pulled), and Prometheus for real beside a running
rehearsal stack (tools/scripts/stack with compose.monitoring.yaml added)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.support.local_stack import MODEL_DIR, Stack, images_present, local_stack
from tests.support.net import free_port
from tests.support.repo import PINS, ROOT

MONITORING = ROOT / "compose/monitoring"
RULES = MONITORING / "prometheus/rules/hymt.yml"
PROJECT = "hymt-test-monitoring"


def promtool(*args: str, prometheus_dir: Path = MONITORING / "prometheus", tests_dir: Path | None = None):
    """promtool of the pinned Prometheus image, with `prometheus_dir` as its /etc/prometheus (no network)."""
    mounts = ["-v", f"{prometheus_dir}:/etc/prometheus:ro"]
    if tests_dir is not None:
        mounts += ["-v", f"{tests_dir}:/tests:ro"]
    command = ["docker", "run", "--rm", "--network", "none", *mounts, "--entrypoint", "promtool"]
    return subprocess.run(
        [*command, PINS["hymt_prometheus_image"], *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="package")
def prometheus_image(docker_engine) -> str:
    image = PINS["hymt_prometheus_image"]
    require(images_present(image), f"{image} is missing: run 'make standins'")
    return image


@pytest.fixture(scope="package")
def monitored_stack(prometheus_image, tmp_path_factory) -> Iterator[tuple[Stack, int]]:
    """The rehearsal stack with Prometheus and the node exporter, and Prometheus's port on 127.0.0.1."""
    needed = (PINS["hymt_vllm_cpu_image"], PINS["hymt_web_image"], PINS["hymt_caddy_image"])
    needed += (PINS["hymt_node_exporter_image"],)
    require(images_present(*needed), f"images {needed} are missing: run 'make test' (or make standins stack-up)")
    require((MODEL_DIR / "config.json").exists(), "no rehearsal model: run 'make rehearsal-model'")
    # The node exporter runs as nobody: its metrics files' directory must be readable by everyone, which pytest's
    # temporary directories (0700) are not.
    textfile = Path(tempfile.mkdtemp(prefix="hymt-test-textfile-"))
    textfile.chmod(0o755)
    port = free_port()
    env = {
        "COMPOSE_FILE": "compose.yaml:compose.rehearsal.yaml:compose.monitoring.yaml",
        "HYMT_PROMETHEUS_PORT": str(port),
        "HYMT_NODE_EXPORTER_TEXTFILE_DIR": str(textfile),
    }
    try:
        with local_stack(PROJECT, tmp_path_factory.mktemp("hymt-state"), env) as stack:
            stack.textfile_dir = textfile  # type: ignore[attr-defined]
            yield stack, port
    finally:
        shutil.rmtree(textfile, ignore_errors=True)
