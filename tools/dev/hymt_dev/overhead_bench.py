"""What the gateway and the proxy add, side by side (docs/performance.md): the same streamed translations (or, with
--no-stream, the same plain ones) sent straight to an upstream paced like a GPU, through the gateway (`hymt web`),
and through Caddy in front of the gateway, at several levels of concurrent clients, measured with hymt bench's
client.

Each part runs in its own process: the stand-in upstream (tests/support/fake_openai.py: first piece after --first-ms,
then a piece every --piece-ms; a piece is one token, as vLLM streams), the gateway (`hymt web --workers N`, one
process by default; with more, they share the limits through their store, hymt_web/shared.py), and Caddy (the pinned
image, host network, proxying as the stack's Caddyfile does). The workload is single-sentence texts, so that each is
one upstream request on every path. Every request is counted against the limits (by the store with several workers);
all come from one client, so the limits are set where they never refuse one: far above the load by default, and with
`--limits` at twice the highest level (places) and a rate a hundred times what the stand-in can serve, so that the
caps are in force without being what is measured.

    make bench-overhead            # or: PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.overhead_bench \\
                                   #        [--levels 1,16,64,256] [--duration 15] [--no-proxy] [--json]
                                   #        [--log-level info] [--workers 1] [--limits] [--no-stream]

Prints one line per level and path, then what the gateway (and proxy) added at p50 and p99 of the time to first
token and the share of the direct throughput, against issue 15's goals (at most 2 ms at p50 and 5 ms at p99, at least
95% of the direct throughput), and the gateway's CPU time per translation (all its processes'). It exits 0 whatever
the figures: they are for reading, not for passing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from hymt.bench.runner import Target, run_level
from hymt.bench.stats import summarise
from hymt.bench.workload import SHORT, Request
from hymt_dev import REPO_ROOT

BIN = Path(sys.executable).parent


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process `pid` and its live children (uvicorn's workers) have used so far, from
    /proc (Linux)."""
    total = 0.0
    for each in [pid, *_children(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (from each process's parent in /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _gateway(port: int, workers: int) -> list[str]:
    return [str(BIN / "hymt"), "web", "--port", str(port), "--workers", str(workers)]


def _limits(levels: list[int], in_force: bool) -> dict[str, str]:
    """The gateway's limits for a bench whose streams all come from one client (see the module's docstring)."""
    if not in_force:
        places, burst, rate = 100_000, 100_000_000, 100_000_000
    else:
        places = 2 * max(levels)
        # A stream of the stand-in takes at least --first-ms: 1000 / 30 ms * the streams a second at most, a minute.
        burst = rate = 100 * max(levels) * 34 * 60
    return {
        "HYMT_MAX_IN_FLIGHT": str(places),
        "HYMT_CLIENT_MAX_IN_FLIGHT": str(places),
        "HYMT_CLIENT_BURST": str(burst),
        "HYMT_CLIENT_RATE": str(rate),
    }


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()


def _caddy_image() -> str:
    for line in (REPO_ROOT / "inventory/group_vars/all/versions.yml").read_text().splitlines():
        if line.startswith("hymt_caddy_image:"):
            return line.split(":", 1)[1].strip().strip('"')
    raise SystemExit("hymt_caddy_image is missing from versions.yml")


@contextlib.contextmanager
def _proxy(gateway_port: int) -> Iterator[str]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        caddyfile = Path(directory) / "Caddyfile"
        caddyfile.write_text(
            f"{{\n\tadmin off\n\tauto_https off\n}}\n:{port} {{\n\treverse_proxy 127.0.0.1:{gateway_port} {{\n"
            "\t\ttransport http {\n\t\t\tkeepalive 30s\n\t\t}\n\t}\n}\n"
        )
        os.chmod(directory, 0o755)
        name = f"hymt-overhead-proxy-{port}"
        argv = ["docker", "run", "--rm", "--name", name, "--network", "host",
                "-v", f"{caddyfile}:/etc/caddy/Caddyfile:ro", _caddy_image()]  # fmt: skip
        with _process(argv):
            try:
                _wait(f"http://127.0.0.1:{port}/healthz")
                yield f"http://127.0.0.1:{port}"
            finally:
                subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.overhead_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,16,64,256", help="concurrent streams, comma-separated")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per level and path")
    parser.add_argument("--first-ms", type=float, default=30.0, help="the upstream's time to the first piece")
    parser.add_argument("--piece-ms", type=float, default=10.0, help="the upstream's time between pieces")
    parser.add_argument("--no-proxy", action="store_true", help="leave out the Caddy path (no Docker needed)")
    parser.add_argument(
        "--log-level", default="info", help="the gateway's HYMT_LOG_LEVEL (info, its default, logs every request)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="gateway processes (hymt web --workers: more share the limits)"
    )
    parser.add_argument(
        "--limits",
        action="store_true",
        help="keep the caps in force at twice the highest level (default: far above any load)",
    )
    parser.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="plain requests on every path, each answer sent whole once the stand-in has paced all its pieces",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    workload = [Request(text, code, "en" if code == "zh" else "zh") for code, text in SHORT.items()]
    upstream_port, gateway_port = _free_port(), _free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HYMT_UPSTREAM_URL": f"{upstream}/v1",
        **_limits(levels, args.limits),
        "HYMT_LOG_LEVEL": args.log_level,
    }
    results: list[dict[str, object]] = []
    fake = [str(BIN / "python"), "-m", "tests.support.fake_openai", "--port", str(upstream_port)]
    with _process(fake, env), _process(_gateway(gateway_port, args.workers), env) as web:
        _wait(f"{upstream}/health")
        pace = {"delay": args.first_ms / 1000, "chunk_delay": args.piece_ms / 1000, "chunk_chars": 4}
        pace["keep_alive"] = True
        pace["pace_plain"] = True  # a plain answer comes when its last piece would have: a GPU's pace either way
        requests.post(f"{upstream}/_control", json=pace, timeout=5).raise_for_status()
        gateway = f"http://127.0.0.1:{gateway_port}"
        _wait(f"{gateway}/healthz")
        with contextlib.ExitStack() as stack:
            paths = {
                "direct": Target(f"{upstream}/v1", api="openai", stream=args.stream),
                "gateway": Target(gateway, api="web", stream=args.stream),
            }
            if not args.no_proxy:
                proxy = stack.enter_context(_proxy(gateway_port))
                paths["proxy + gateway"] = Target(proxy, api="web", stream=args.stream)
            unit = "streams" if args.stream else "clients"
            for level in levels:
                by_path = {}
                for name, target in paths.items():
                    used = cpu_seconds(web.pid)
                    done = run_level(target, workload, concurrency=level, duration=args.duration)
                    summary = summarise(done.outcomes, done.duration, max_concurrency=level, request_rate=None)
                    # What one translation costs the gateway's process: CPU time, which other load on the machine
                    # changes far less than it changes latencies.
                    cpu = ""
                    if name != "direct" and summary["completed"]:
                        per_request = (cpu_seconds(web.pid) - used) * 1000 / summary["completed"]  # type: ignore[operator]
                        summary["gateway_cpu_ms_per_request"] = round(per_request, 2)
                        cpu = f"  gateway CPU {per_request:.2f} ms/req"
                    by_path[name] = summary
                    results.append({"path": name, **summary})
                    if not args.json:
                        print(
                            f"{level:>4} {unit}, {name:<16} {summary['request_throughput']:>8} req/s  "
                            f"ttft p50 {summary['median_ttft_ms']:>7} ms  p99 {summary['p99_ttft_ms']:>7} ms  "
                            f"failed {summary['failed']}{cpu}",
                            flush=True,
                        )
                if not args.json:
                    direct = by_path["direct"]
                    for name in list(paths)[1:]:
                        s = by_path[name]
                        share = s["request_throughput"] / max(direct["request_throughput"], 1e-9) * 100  # type: ignore[operator]
                        print(
                            f"{level:>4} {unit}, {name} adds {s['median_ttft_ms'] - direct['median_ttft_ms']:+.1f} ms "  # type: ignore[operator]
                            f"at p50 (goal 2), {s['p99_ttft_ms'] - direct['p99_ttft_ms']:+.1f} ms at p99 (goal 5), "  # type: ignore[operator]
                            f"{share:.0f}% of the direct throughput (goal 95%)",
                            flush=True,
                        )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
