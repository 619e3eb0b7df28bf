"""Figures for docs/reliability.md: how fast the gateway lets go of a client that left, and how long hostile requests
take to be answered. The gateway runs for real (uvicorn on a loopback port) in front of the tests' stand-in upstream
(tests/support/fake_openai.py), so the figures say what the gateway does, not what a model does.

    make bench-gateway            # or: PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.gateway_bench [--rounds N]

Prints one line per measurement; exits 1 when a figure misses the goal of issue 13 (a place freed and the upstream
request cancelled within 2 s of the client leaving; every hostile request answered within 5 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator

import httpx

from hymt_dev import REPO_ROOT

CANCEL_GOAL = 2.0
ANSWER_GOAL = 5.0


def _since(start: float, condition: Callable[[], bool], limit: float = 30.0) -> float:
    """Seconds from `start` until `condition` holds (polled every 5 ms); `limit` when it never does."""
    while not condition():
        if time.perf_counter() - start > limit:
            return limit
        time.sleep(0.005)
    return time.perf_counter() - start


def _huge_body() -> Iterator[bytes]:
    """50 MB of text, chunked (no Content-Length): the gateway must stop reading long before its end."""
    yield b'{"text": "'
    for _ in range(800):
        yield b"a" * 65536


HOSTILE: dict[str, dict[str, object]] = {
    "lone surrogate": {"content": rb'{"text": "hi \ud800", "target": "en"}'},
    "NUL": {"content": rb'{"text": "hi \u0000", "target": "en"}'},
    "invalid UTF-8": {"content": b'{"text": "caf\xe9", "target": "en"}'},
    "malformed JSON": {"content": b'{"text": '},
    "unknown field": {"content": b'{"text": "hi", "target": "en", "model": "x"}'},
    "control tokens": {"json": {"text": "<|eos|><|startoftext|>hi<|extra_0|>" * 100, "target": "en"}},
    '"a\\n" * 2500': {"json": {"text": "a\n" * 2500, "target": "en"}},
    '"a\\n\\n" * 1666': {"json": {"text": "a\n\n" * 1666, "target": "en"}},
    "5,000 CJK characters": {"json": {"text": "翻" * 5000, "target": "en"}},
    "50 MB chunked body": {"content": _huge_body},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.gateway_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="clients that leave, per case (default 10)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))  # the stand-in upstream and the threaded server of the tests
    from tests.support.fake_openai import running
    from tests.support.gateway import serving
    from tests.support.web_deployment import gateway_settings

    missed = []
    with running(stall_stream_after=0) as fake:
        settings = gateway_settings(fake, client_burst=10**6, client_rate=10**6, client_max_in_flight=64)
        with serving(settings) as url, httpx.Client(base_url=url, timeout=30) as client:

            def in_flight() -> float:
                for line in client.get("/metrics").text.splitlines():
                    if line.startswith("hymt_web_translations_in_flight "):
                        return float(line.split()[1])
                return -1.0

            for case, stall in (("before the first piece", 0), ("after the first piece", 1)):
                fake.behaviour.stall_stream_after = stall
                freed, cancelled = [], []
                for _ in range(args.rounds):
                    before = fake.streams_cancelled
                    body = {"text": "Hello", "target": "fr"}
                    if stall:
                        with client.stream("POST", "/api/translate/stream", json=body) as response:
                            next(response.iter_lines())
                    else:  # no headers before the first piece: the client gives up waiting for them
                        with contextlib.suppress(httpx.ReadTimeout):
                            client.post("/api/translate/stream", json=body, timeout=0.3)
                    left = time.perf_counter()
                    freed.append(_since(left, lambda: in_flight() == 0))
                    cancelled.append(_since(left, lambda before=before: fake.streams_cancelled > before))
                for what, figures in (("place freed", freed), ("upstream cancelled", cancelled)):
                    worst = max(figures)
                    print(
                        f"client leaves {case}: {what} in median {statistics.median(figures) * 1000:.0f} ms, "
                        f"worst {worst * 1000:.0f} ms ({args.rounds} rounds)"
                    )
                    if worst > CANCEL_GOAL:
                        missed.append(f"{case}: {what}")

            fake.behaviour.stall_stream_after = None
            for name, request in HOSTILE.items():
                options = {k: (v() if callable(v) else v) for k, v in request.items()}
                headers = {"Content-Type": "application/json"}
                started = time.perf_counter()
                try:
                    response = client.post("/api/translate", headers=headers, **options)  # type: ignore[arg-type]
                except httpx.TransportError as exc:  # the gateway answered and closed while the body was sent
                    status, code = 0, f"connection closed by the gateway ({type(exc).__name__})"
                else:
                    status = response.status_code
                    try:
                        code = response.json().get("error", {}).get("code", "translated")
                    except json.JSONDecodeError:
                        code = "?"
                elapsed = time.perf_counter() - started
                print(f"{name}: {status or ''} {code} in {elapsed * 1000:.0f} ms")
                if elapsed > ANSWER_GOAL or status >= 500:
                    missed.append(name)
    if missed:
        print("missed the goals: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
