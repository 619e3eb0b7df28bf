"""Run the CPU vLLM image with the rehearsal model in a container on 127.0.0.1, for tests and measurements."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port
from tests.support.repo import PINS

IMAGE = PINS["hymt_vllm_cpu_image"]
CONTAINER_PREFIX = "hymt-test-vllm-"
SERVED_NAME = "hymt-rehearsal"
MODEL_MOUNT = "/models/hymt-rehearsal"
# The flags compose/compose.yaml gives either image (GPU-only ones included: vLLM on CPU accepts and ignores them);
# no CPU-specific flag, as the entry point chooses eager mode itself.
FLAGS = (
    "--served-model-name", SERVED_NAME,
    "--host", "0.0.0.0",
    "--port", "8000",
    "--max-model-len", "4096",
    "--max-num-seqs", "8",
    "--gpu-memory-utilization", "0.90",
    "--dtype", "bfloat16",
    "--kv-cache-dtype", "auto",
    "--no-enable-log-requests",
)  # fmt: skip
# A bound on waiting, not a measured expectation: /health comes after 30-60 s here (docs/vllm-cpu.md).
STARTUP_LIMIT_SECONDS = 600


class ServerFailed(RuntimeError):
    """The container stopped or never became healthy; the message carries its log."""


@dataclass(frozen=True)
class RunningServer:
    container: str
    base_url: str  # http://127.0.0.1:PORT
    api_key: str | None
    seconds_to_health: float

    def logs(self, tail: int = 200) -> str:
        return docker("logs", "--tail", str(tail), self.container, check=False).stdout

    def memory_usage(self) -> str:
        return docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.container).stdout.strip()


def docker(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise ServerFailed(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def image_exists(image: str = IMAGE) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def http_status(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0  # not answering (yet)


def container_state(name: str) -> dict:
    result = docker("inspect", "--format", "{{json .State}}", name, check=False)
    return json.loads(result.stdout) if result.returncode == 0 else {}


@contextlib.contextmanager
def vllm_cpu_server(
    model_dir: Path, *, api_key: str | None = None, extra_flags: tuple[str, ...] = (), image: str = IMAGE
) -> Iterator[RunningServer]:
    """Start the image serving `model_dir` (mounted read-only), wait for /health, yield, and always remove it."""
    name = CONTAINER_PREFIX + uuid.uuid4().hex[:10]
    port = free_port()
    flags = (*FLAGS, *(("--api-key", api_key) if api_key else ()), *extra_flags)
    started = time.monotonic()
    docker(
        "run", "--detach", "--name", name, "--shm-size=1g",
        "--publish", f"127.0.0.1:{port}:8000",
        "--volume", f"{model_dir}:{MODEL_MOUNT}:ro",
        "--label", "org.hymt.test=vllm",
        image, MODEL_MOUNT, *flags,
    )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        while http_status(base_url + "/health") != 200:
            state = container_state(name)
            if not state.get("Running"):
                log = docker("logs", "--tail", "80", name, check=False)
                raise ServerFailed(f"vLLM exited ({state.get('ExitCode')}):\n{log.stdout}\n{log.stderr}")
            if time.monotonic() - started > STARTUP_LIMIT_SECONDS:
                log = docker("logs", "--tail", "80", name, check=False)
                raise ServerFailed(f"no /health after {STARTUP_LIMIT_SECONDS} s:\n{log.stdout}\n{log.stderr}")
            time.sleep(0.5)
        yield RunningServer(name, base_url, api_key, time.monotonic() - started)
    finally:
        docker("rm", "--force", "--volumes", name, check=False)
