"""How long the rehearsal stack takes to start (docs/performance.md, "Start-up and re-runs"): from `docker compose up`
to the gateway's /readyz answering 200 through the proxy, which it does once vLLM has loaded the model and answers.

Three starts, in this order, on this machine's Docker engine through tools/scripts/stack (the rehearsal variant of the
stack, under its own project name and port so that it runs beside anything else):

- cold: everything removed first, volumes too (vLLM's cache volume is empty);
- recreate: `compose down` without the volumes, then `up`: new containers, vLLM's cache volume kept (what a new
  release or a reboot with removed containers sees);
- restart: `compose restart`: the same containers.

"Cold" is cold for the stack, not for the machine: the images and the model stay in the page cache between rounds.

    make bench-startup        # or: PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.startup_bench [--rounds 2]

It needs the images and the rehearsal model (make stack-up builds them) and removes its stack at the end. Exit codes:
0 when every start became ready, 1 when one did not within --timeout, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests

from hymt_dev import REPO_ROOT

STACK = REPO_ROOT / "tools/scripts/stack"
KINDS = ("cold", "recreate", "restart")
# Where the stack's vLLM keeps its cache (compose.yaml: the vllm_cache volume, VLLM_CACHE_ROOT).
VLLM_CACHE = "/var/cache/vllm"


@dataclass
class Settings:
    project: str = "hymt-startup"
    port: int = 8098
    rounds: int = 1
    timeout: float = 600.0
    poll: float = 0.25


@dataclass
class Figures:
    seconds: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    cache_files: int | None = None


class NotReady(Exception):
    """A start did not reach /readyz 200 in time; the message says which."""


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def stack_runner(settings: Settings) -> Runner:
    env = dict(os.environ)
    env.update(
        COMPOSE_PROJECT_NAME=settings.project,
        HYMT_HTTP_PORT=str(settings.port),
        # A port of its own for HTTPS too, so that nothing collides with another stack's 8448.
        HYMT_HTTPS_PORT=str(settings.port + 1),
        HYMT_STATE_DIR=str(REPO_ROOT / ".hymt" / settings.project),
    )

    def run(args: Sequence[str]) -> subprocess.CompletedProcess:
        return subprocess.run([str(STACK), *args], env=env, capture_output=True, text=True, check=False)

    return run


def ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def time_start(
    start: Callable[[], None],
    is_ready: Callable[[], bool],
    timeout: float,
    poll: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Seconds from calling `start` until `is_ready()` holds; NotReady after `timeout`."""
    began = clock()
    start()
    while not is_ready():
        if clock() - began > timeout:
            raise NotReady(f"/readyz did not answer 200 within {timeout:g} s")
        sleep(poll)
    return clock() - began


def measure(
    settings: Settings,
    run: Runner,
    is_ready: Callable[[], bool],
    say: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Figures:
    def compose(*args: str) -> None:
        done = run(["compose", *args])
        if done.returncode != 0:
            raise NotReady(f"docker compose {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-600:]}")

    figures = Figures()
    steps: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
        "cold": (lambda: run(["down"]), lambda: compose("up", "-d")),
        "recreate": (lambda: compose("down"), lambda: compose("up", "-d")),
        "restart": (lambda: None, lambda: compose("restart")),
    }
    prepared = run(["prepare"])
    if prepared.returncode != 0:
        raise NotReady(f"the stack's settings could not be written: {prepared.stderr.strip()}")
    for round_ in range(1, settings.rounds + 1):
        for kind in KINDS:
            before, start = steps[kind]
            before()
            seconds = time_start(start, is_ready, settings.timeout, settings.poll, clock, sleep)
            figures.seconds[kind].append(seconds)
            say(f"round {round_}: {kind:<8} up to /readyz 200 in {seconds:6.1f} s")
            if kind == "cold" and figures.cache_files is None:
                listing = run(["compose", "exec", "-T", "vllm", "find", VLLM_CACHE, "-type", "f"])
                if listing.returncode == 0:
                    figures.cache_files = len(listing.stdout.split())
    return figures


def summary(figures: Figures) -> dict:
    return {
        "seconds": {kind: values for kind, values in figures.seconds.items()},
        "median": {kind: round(statistics.median(values), 1) for kind, values in figures.seconds.items() if values},
        "vllm_cache_files_after_cold": figures.cache_files,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hymt_dev.startup_bench",
        description="Time the rehearsal stack from `docker compose up` to /readyz 200: cold, recreated, restarted.",
    )
    parser.add_argument("--project", default=Settings.project, help="compose project name (default %(default)s)")
    parser.add_argument("--port", type=int, default=Settings.port, help="HTTP port on 127.0.0.1 (and the next: HTTPS)")
    parser.add_argument("--rounds", type=int, default=Settings.rounds, help="how many times to run the three starts")
    parser.add_argument("--timeout", type=float, default=Settings.timeout, help="seconds one start may take")
    parser.add_argument("--keep", action="store_true", help="leave the stack running at the end")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.rounds < 1 or not 1 <= args.port < 65535 or args.timeout <= 0:
        parser.error("--rounds must be at least 1, --port a port below 65535, --timeout positive")
    settings = Settings(project=args.project, port=args.port, rounds=args.rounds, timeout=args.timeout)
    run = stack_runner(settings)
    url = f"http://127.0.0.1:{settings.port}/readyz"
    try:
        figures = measure(settings, run, lambda: ready(url), lambda line: print(line, file=sys.stderr, flush=True))
    except NotReady as error:
        print(f"startup_bench: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            run(["down"])
    result = summary(figures)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for kind, median in result["median"].items():
            print(f"{kind:<8} median {median:6.1f} s over {len(figures.seconds[kind])} start(s)")
        print(f"vLLM's cache volume after the cold start: {figures.cache_files} file(s) in {VLLM_CACHE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
