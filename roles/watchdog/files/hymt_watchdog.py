#!/usr/bin/env python3
"""hymt-watchdog: one look at the stack's containers, run by a systemd timer; restarts a service that stays unhealthy.

A service counts as failing on one look when its container runs and Docker calls it unhealthy, or (for the model
server, --ready-service) when Docker calls it healthy but the web app's /readyz is not 200: the engine answers /health
but generates nothing (a wedged engine; /readyz asks for one token). A container still starting (its model loading)
or stopped by hand never counts. Nor does a health status Docker stopped updating go unnoticed: after
`systemctl restart docker` with live-restore, Docker 20.10 keeps the containers running but no longer runs their
health checks, so a status older than --stale-after seconds counts as failing too. After --threshold failing looks
in a row the service's container is restarted, at most --max-restarts times in --window seconds (then it only logs:
a fault a restart does not cure needs a person).
What it sees and does goes to stdout, i.e. the journal: journalctl -u hymt-watchdog.

Standard library only (it runs with the host's python3); the decision is the pure function `decide`.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_CHECK = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/readyz', timeout={timeout})"


@dataclass(frozen=True)
class Look:
    """What one look saw of one service: its container's state and health ('' when it has no health check)."""

    service: str
    running: bool
    health: str
    ready: bool | None = None  # /readyz's verdict, for the ready service only (None: not asked)
    health_age: float | None = None  # seconds since Docker last ran its health check (None: unknown)


@dataclass
class Memory:
    """What the watchdog keeps between looks: failing looks in a row, and when it restarted each service."""

    failures: dict[str, int] = field(default_factory=dict)
    restarts: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Memory:
        try:
            data = json.loads(path.read_text())
            return cls(failures=dict(data["failures"]), restarts={k: list(v) for k, v in data["restarts"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"failures": self.failures, "restarts": self.restarts}))


@dataclass(frozen=True)
class Policy:
    threshold: int = 3
    max_restarts: int = 3
    window: float = 3600.0
    stale_after: float = 120.0


def failing(look: Look, stale_after: float = Policy.stale_after) -> str | None:
    """Why this look counts against the service, or None."""
    if not look.running:
        return None  # stopped or exited: Docker's restart policy, or whoever stopped it, is in charge
    if look.health and look.health_age is not None and look.health_age > stale_after:
        return f"Docker last ran its health check {look.health_age:.0f} s ago (stopped checking, e.g. after a restart)"
    if look.health == "unhealthy":
        return "Docker reports it unhealthy"
    if look.health == "healthy" and look.ready is False:
        return "it answers its health check but the web app's /readyz fails (no token generated)"
    return None


def decide(looks: list[Look], memory: Memory, policy: Policy, now: float) -> tuple[list[str], list[str]]:
    """The services to restart and the log lines of this look; updates `memory`."""
    restart, said = [], []
    for look in looks:
        reason = failing(look, policy.stale_after)
        if reason is None:
            if memory.failures.pop(look.service, 0):
                said.append(f"{look.service}: healthy again")
            continue
        count = memory.failures.get(look.service, 0) + 1
        memory.failures[look.service] = count
        if count < policy.threshold:
            said.append(f"{look.service}: failing ({count}/{policy.threshold}): {reason}")
            continue
        recent = [t for t in memory.restarts.get(look.service, []) if now - t < policy.window]
        memory.restarts[look.service] = recent
        if len(recent) >= policy.max_restarts:
            said.append(
                f"{look.service}: failing ({count} looks): {reason}; not restarting it, it was restarted "
                f"{len(recent)} times in the last {policy.window:g} s: look at its logs (docker compose logs)"
            )
            continue
        recent.append(now)
        memory.failures[look.service] = 0
        restart.append(look.service)
        said.append(f"{look.service}: restarting it after {count} failing looks in a row: {reason}")
    return restart, said


# -- Docker, through its CLI ------------------------------------------------------------------------------------------
def run(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?")


def seconds_since(stamp: str, now: float) -> float | None:
    """Seconds from Docker's UTC time stamp (nanoseconds, Z) to `now` (epoch seconds); None when unreadable."""
    match = _TIME.match(stamp or "")
    if not match:
        return None
    *parts, fraction = match.groups()
    year, month, day, hour, minute, second = (int(p) for p in parts)
    epoch = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) + float(f"0.{fraction or 0}")
    return now - epoch


def inspect(container: str, now: float) -> tuple[bool, str, float | None] | None:
    """(running, health, seconds since the last health check) of a container, or None when there is none."""
    done = run(["docker", "inspect", "--format", "{{json .State}}", container], timeout=30)
    if done.returncode != 0:
        return None
    state = json.loads(done.stdout)
    health = state.get("Health") or {}
    checks = health.get("Log") or []
    # Since the later of its last check and its start (the log outlives a restart; the first check comes later).
    ages = [seconds_since(checks[-1].get("End", ""), now) if checks else None]
    ages.append(seconds_since(state.get("StartedAt", ""), now))
    known = [age for age in ages if age is not None]
    age = min(known) if known else None
    return bool(state.get("Running")) and not state.get("Paused"), health.get("Status", ""), age


def web_ready(container: str, port: int, timeout: float) -> bool:
    check = READY_CHECK.format(port=port, timeout=timeout)
    try:
        return run(["docker", "exec", container, "python3", "-c", check], timeout=timeout + 10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def look_at(args: argparse.Namespace) -> list[Look]:
    looks = []
    now = time.time()
    states = {service: inspect(f"{args.project}-{service}-1", now) for service in args.services}
    web = states.get(args.web_service)
    web_is_up = web is not None and web[0] and web[1] in ("healthy", "")
    for service, state in states.items():
        if state is None:
            continue
        running, health, age = state
        ready = None
        if service == args.ready_service and running and health == "healthy" and web_is_up:
            ready = web_ready(f"{args.project}-{args.web_service}-1", args.web_port, args.ready_timeout)
        looks.append(Look(service, running, health, ready, age))
    return looks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hymt-watchdog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default="hymt", help="the Compose project (containers <project>-<service>-1)")
    parser.add_argument("--services", default="vllm,web,proxy", type=lambda s: [x for x in s.split(",") if x])
    parser.add_argument("--ready-service", default="vllm", help="the service /readyz speaks for")
    parser.add_argument("--web-service", default="web")
    parser.add_argument("--web-port", type=int, default=8000)
    parser.add_argument("--ready-timeout", type=float, default=15.0)
    parser.add_argument("--threshold", type=int, default=3, help="failing looks in a row before a restart")
    parser.add_argument("--max-restarts", type=int, default=3, help="restarts of one service per --window")
    parser.add_argument("--window", type=float, default=3600.0, help="seconds")
    parser.add_argument("--stale-after", type=float, default=120.0, help="seconds without a health check run")
    parser.add_argument("--stop-timeout", type=int, default=10, help="seconds docker restart waits before SIGKILL")
    parser.add_argument("--state", type=Path, default=Path("/var/lib/hymt-watchdog/state.json"))
    args = parser.parse_args(argv)
    try:
        looks = look_at(args)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        print(f"hymt-watchdog: cannot look at the containers: {error}", file=sys.stderr)
        return 1
    memory = Memory.load(args.state)
    policy = Policy(args.threshold, args.max_restarts, args.window, args.stale_after)
    restart, said = decide(looks, memory, policy, time.time())
    memory.save(args.state)
    for line in said:
        print(line, flush=True)
    status = 0
    for service in restart:
        container = f"{args.project}-{service}-1"
        done = run(["docker", "restart", "--time", str(args.stop_timeout), container], timeout=args.stop_timeout + 120)
        if done.returncode == 0:
            print(f"{service}: restarted {container}", flush=True)
        else:
            print(f"{service}: docker restart {container} failed: {done.stderr.strip()}", file=sys.stderr, flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
