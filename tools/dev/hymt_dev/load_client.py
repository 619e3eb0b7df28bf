"""One load client of the stack's load run, meant to run inside the web image on the stack's edge network (the one
the proxy publishes its ports on), so that the proxy sees it as one address of its own (three containers: three
clients for the per-client limits):

    docker run --rm -i --network hymt_edge hymt/web:0.1.0 python - --role polite --seconds 60 < load_client.py

Roles:
  polite   one well-behaved user: one short translation at a time, about 40 a minute (under the per-client rate),
           waiting out any Retry-After; its latencies are the figure that must stay bounded
  abusive  one address with --clients loops firing without pause: translations, hostile bodies (a lone surrogate,
           NUL, invalid UTF-8, unknown fields, an oversized text) and streams abandoned after their first bytes
  crowd    --clients ordinary users behind one address (an office's NAT): a short translation, a pause, again

Prints one JSON object: statuses of translations by kind, answers without a Retry-After among the 429s and 503s,
transport errors, the polite client's latencies. Standard library and aiohttp only (both in the web image).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter

import aiohttp

HOSTILE = [
    ("surrogate", rb'{"text": "hi \ud800", "target": "en"}'),
    ("nul", rb'{"text": "hi \u0000", "target": "en"}'),
    ("utf8", b'{"text": "caf\xe9", "target": "en"}'),
    ("unknown_field", b'{"text": "hi", "target": "en", "model": "x"}'),
    ("too_long", json.dumps({"text": "a" * 6000, "target": "en"}).encode()),
]
WORDS = "the quick brown fox jumps over the lazy dog while a gentle rain falls on the quiet town".split()


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.no_retry_after = 0
        self.errors: Counter[str] = Counter()
        self.latencies: list[float] = []

    def count(self, kind: str, response: aiohttp.ClientResponse) -> None:
        self.statuses[f"{kind} {response.status}"] += 1
        if response.status in (429, 503) and not response.headers.get("Retry-After"):
            self.no_retry_after += 1

    def as_dict(self) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None

        return {
            "statuses": dict(sorted(self.statuses.items())),
            "no_retry_after": self.no_retry_after,
            "errors": dict(self.errors),
            "latency": {"count": len(lat), "p50": pct(0.5), "p99": pct(0.99), "max": lat[-1] if lat else None},
        }


def sentence() -> str:
    return " ".join(random.choice(WORDS) for _ in range(random.randint(4, 12))).capitalize() + "."


# Transport failures and timeouts, counted by kind.
FAILURES = (aiohttp.ClientError, asyncio.TimeoutError)


async def post(client: aiohttp.ClientSession, path: str, **kwargs: object) -> aiohttp.ClientResponse:
    """A whole answer (its body read, the connection free again)."""
    async with client.post(path, **kwargs) as response:  # type: ignore[arg-type]
        await response.read()
        return response


async def polite(client: aiohttp.ClientSession, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            response = await post(client, "/api/translate", json={"text": sentence(), "target": "zh"})
        except FAILURES as error:
            tally.errors[type(error).__name__] += 1
            await asyncio.sleep(1.5)
            continue
        tally.count("translate", response)
        if response.status == 200:
            tally.latencies.append(time.monotonic() - started)
        if response.status != 200 and response.headers.get("Retry-After"):
            await asyncio.sleep(float(response.headers["Retry-After"]))
        else:
            await asyncio.sleep(max(0.0, 1.5 - (time.monotonic() - started)))


async def abusive(client: aiohttp.ClientSession, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        pick = random.random()
        try:
            if pick < 0.4:
                response = await post(client, "/api/translate", json={"text": sentence(), "target": "de"})
                tally.count("translate", response)
            elif pick < 0.8:
                kind, body = random.choice(HOSTILE)
                response = await post(client, "/api/translate", data=body, headers={"Content-Type": "application/json"})
                tally.count(kind, response)
            else:
                async with client.post(
                    "/api/translate/stream", json={"text": sentence() * 5, "target": "fr"}
                ) as response:
                    tally.count("stream_abandoned", response)
                    # leave at once, before or after the first piece: the connection is closed, not reused
                    response.close()
        except FAILURES as error:
            tally.errors[type(error).__name__] += 1


async def crowd(client: aiohttp.ClientSession, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        try:
            response = await post(client, "/api/translate", json={"text": sentence(), "target": "ja"})
            tally.count("translate", response)
        except FAILURES as error:
            tally.errors[type(error).__name__] += 1
        await asyncio.sleep(random.uniform(0.5, 2.0))


async def run(args: argparse.Namespace) -> dict:
    tally = Tally()
    until = time.monotonic() + args.seconds
    loop = {"polite": polite, "abusive": abusive, "crowd": crowd}[args.role]
    clients = 1 if args.role == "polite" else args.clients
    connector = aiohttp.TCPConnector(limit=clients + 4)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(base_url=args.url, connector=connector, timeout=timeout) as client:
        await asyncio.gather(*(loop(client, tally, until) for _ in range(clients)))
    return {"role": args.role, "clients": clients, "seconds": args.seconds, **tally.as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://proxy:80")
    parser.add_argument("--role", choices=["polite", "abusive", "crowd"], required=True)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
