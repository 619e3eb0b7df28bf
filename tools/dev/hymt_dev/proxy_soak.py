"""Bursts of requests through the stack's proxy, counting every answer that is not a whole answer from the app
(docs/reliability.md, "The proxy").

The proxy is a Caddyfile (the stack's own by default: compose/Caddyfile, its `web:8000` pointed at the gateway) in
the pinned Caddy image on the host network; behind it `hymt web` in its own process, in front of the stand-in
upstream (tests/support/fake_openai.py). Each round sends `--size` requests at once, on kept-alive connections:
three in four are answered 422 by the app (an unknown field), one in four is a translation. Prints the tally of
statuses and client errors, and the lines Caddy logged at level error.

    PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.proxy_soak [--caddyfile FILE] [--rounds 100] [--size 64]

The figures are for reading: it exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx

from hymt_dev import REPO_ROOT
from hymt_dev.overhead_bench import BIN, _caddy_image, _free_port, _process, _wait

UNKNOWN_FIELD = b'{"text": "Hello", "target": "fr", "colour": "blue"}'
TRANSLATION = {"text": "Hello", "target": "fr", "source": "en"}


async def _rounds(front: str, rounds: int, size: int) -> Counter[str]:
    tally: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(base_url=front, limits=limits, timeout=30, trust_env=False) as client:

        async def one(n: int) -> str:
            try:
                if n % 4:
                    headers = {"Content-Type": "application/json"}
                    response = await client.post("/api/translate", content=UNKNOWN_FIELD, headers=headers)
                else:
                    response = await client.post("/api/translate", json=TRANSLATION)
                return str(response.status_code)
            except httpx.HTTPError as error:
                return type(error).__name__

        for _ in range(rounds):
            tally.update(await asyncio.gather(*(one(n) for n in range(size))))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.proxy_soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--caddyfile", type=Path, default=REPO_ROOT / "compose/Caddyfile")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--size", type=int, default=64, help="requests at once in a round")
    args = parser.parse_args(argv)
    upstream_port, gateway_port, proxy_port = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HYMT_UPSTREAM_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "HYMT_MAX_IN_FLIGHT": "100000",
        "HYMT_CLIENT_MAX_IN_FLIGHT": "100000",
        "HYMT_CLIENT_BURST": "100000000",
        "HYMT_CLIENT_RATE": "100000000",
        "HYMT_LOG_LEVEL": "warning",
    }
    fake = [str(BIN / "python"), "-m", "tests.support.fake_openai", "--port", str(upstream_port)]
    with (
        tempfile.TemporaryDirectory() as directory,
        _process(fake, env),
        _process([str(BIN / "hymt"), "web", "--port", str(gateway_port)], env),
    ):
        caddyfile = Path(directory) / "Caddyfile"
        caddyfile.write_text(args.caddyfile.read_text().replace("web:8000", f"127.0.0.1:{gateway_port}"))
        os.chmod(directory, 0o755)
        name = f"hymt-proxy-soak-{proxy_port}"
        argv = ["docker", "run", "--name", name, "--network", "host", "--env", f"HYMT_SITE_ADDRESS=:{proxy_port}",
                "-v", f"{caddyfile}:/etc/caddy/Caddyfile:ro", _caddy_image()]  # fmt: skip
        _wait(f"http://127.0.0.1:{gateway_port}/healthz")
        try:
            with _process(argv):
                front = f"http://127.0.0.1:{proxy_port}"
                _wait(f"{front}/healthz")
                tally = asyncio.run(_rounds(front, args.rounds, args.size))
                # Caddy logs its errors to stderr, and the Caddyfile may send its access log to stdout.
                done = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
                logged = done.stdout + done.stderr
        finally:
            subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
    errors = Counter()
    for line in logged.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("level") == "error" and not entry.get("logger", "").startswith("http.log.access"):
                errors[entry.get("msg", "")[:60]] += 1
    print(f"{args.rounds * args.size} requests through {args.caddyfile}: {dict(sorted(tally.items()))}")
    print(f"Caddy logged at level error: {dict(errors) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
