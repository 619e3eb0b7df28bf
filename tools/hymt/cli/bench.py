"""`hymt bench`: load against a deployment's web API or vLLM's OpenAI API, with vLLM bench's figures per level."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hymt.bench import APIS
from hymt.bench.plot import PlotUnavailable, write_png
from hymt.bench.stats import Outcome, summarise
from hymt.bench.workload import WorkloadError, built_in, from_file
from hymt.cli.output import add_command
from hymt.core.exit import ExitStatus
from hymt.sdk.settings import DEFAULT_MODEL, ENV_API_KEY, ENV_MODEL

DESCRIPTION = (
    "Send translation load to a deployment's web API (--api web, the default) or to vLLM's OpenAI API (--api openai) "
    "and report throughput, time to first token, inter-token and end-to-end latency per level of load."
)
EPILOG = f"""\
examples:
  hymt bench --url https://translate.example.com --concurrency 1,16,64 --duration 30
  hymt bench --url http://127.0.0.1:8000/v1 --api openai --rate 8 --requests 200 --json
  hymt bench --url http://127.0.0.1:8088 --input sentences.txt --to de --goodput ttft:500,e2el:4000

The built-in workload: short sentences (en, zh, fr, ja, de), two paragraphs and a four-paragraph document, into and
out of Chinese. --input FILE sends its non-empty lines instead (--to, --from).

Figures (--json uses vLLM bench serve's names): request_throughput (completed requests/s), output_throughput
(output tokens/s), ttft, tpot, itl and e2el in ms (mean, median, std, p50, p90, p99), request_goodput (requests/s
meeting every --goodput target), errors by kind. Output tokens: the OpenAI API's usage figure (stream_options); on the
web API the model's pieces its done event counts (one token each), or a plain answer's output_tokens (the model
server's count). --no-stream: each answer timed whole (its ttft is its e2el, no itl).

--api openai reads --api-key from ${ENV_API_KEY} and --model from ${ENV_MODEL} (default {DEFAULT_MODEL}).
HTTPS: certificates are checked against certifi's bundle, or the one REQUESTS_CA_BUNDLE names, as by every hymt
command.

exit codes: 0 every request completed, 1 some failed, 2 usage error.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "bench", "measure a deployment or a vLLM server under load", DESCRIPTION, EPILOG)
    parser.add_argument("--url", required=True, help="the deployment's address (web), or the base URL ending in /v1")
    parser.add_argument("--api", choices=APIS, default="web", help="which API to load (default: web)")
    parser.add_argument("--model", default=None, help=f"served model name for --api openai (default ${ENV_MODEL})")
    parser.add_argument("--api-key", default=None, help=f"vLLM's API key for --api openai (default ${ENV_API_KEY})")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--concurrency", default=None, help="comma-separated client counts, e.g. 1,16,64 (default 1)")
    load.add_argument("--rate", type=float, default=None, help="requests a second (Poisson arrivals)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per level")
    parser.add_argument("--requests", type=int, default=None, help="requests per level (default 20 without --duration)")
    parser.add_argument("--input", type=Path, default=None, help="a UTF-8 file of texts, one per line")
    parser.add_argument("--to", default="zh", help="target language of --input's texts (default zh)")
    parser.add_argument("--from", dest="source", default="auto", help="source language of --input's texts")
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="--api openai: every answer's length limit in tokens (default: as "
        "the gateway sets it, from the text's length)",
    )  # fmt: skip
    parser.add_argument(
        "--ignore-eos", action="store_true", help="--api openai: ask vLLM to write on to the limit (its ignore_eos), "
        "so that every answer is --max-tokens long, as `vllm bench serve --ignore-eos` does",
    )  # fmt: skip
    parser.add_argument(
        "--no-stream", dest="stream", action="store_false", help="send plain requests (web: /api/translate; openai: "
        "stream false) and time each whole answer: its ttft is its e2el",
    )  # fmt: skip
    parser.add_argument("--goodput", default=None, help="targets in ms, e.g. ttft:500,e2el:4000 (also tpot)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one request may take (default 300)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per level")
    parser.add_argument("--plot", type=Path, default=None, help="write latency and throughput against load as a PNG")
    parser.set_defaults(handler=run)


class _Usage(ValueError):
    pass


def _levels(text: str | None) -> list[int]:
    try:
        levels = [int(part) for part in (text or "1").split(",") if part.strip()]
    except ValueError:
        raise _Usage(f"--concurrency takes whole numbers separated by commas, e.g. 1,16,64 (not {text!r})") from None
    if not levels or any(level < 1 for level in levels):
        raise _Usage("--concurrency levels must be 1 or more")
    return levels


def _goodput(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    targets: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition(":")
        try:
            if name.strip() not in ("ttft", "tpot", "e2el"):
                raise ValueError
            targets[name.strip()] = float(value)
        except ValueError:
            raise _Usage(f"--goodput takes ttft:MS, tpot:MS or e2el:MS separated by commas (not {part!r})") from None
    return targets


def _check_length(args: argparse.Namespace) -> None:
    if args.api != "openai" and (args.max_tokens is not None or args.ignore_eos):
        raise _Usage("--max-tokens and --ignore-eos need --api openai (the gateway decides the answer's length)")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise _Usage("--max-tokens must be 1 or more")
    if args.ignore_eos and args.max_tokens is None:
        raise _Usage("--ignore-eos needs --max-tokens (without a limit the answer would run to the model's length)")


def run(args: argparse.Namespace) -> int:
    from hymt.bench.runner import Target, TargetError, run_level  # aiohttp: imported by this command only

    try:
        levels = [None] if args.rate is not None else _levels(args.concurrency)
        if args.rate is not None and args.rate <= 0:
            raise _Usage("--rate must be above 0 requests a second")
        if args.requests is not None and args.requests < 1:
            raise _Usage("--requests must be 1 or more")
        if args.duration is not None and args.duration <= 0:
            raise _Usage("--duration must be above 0 seconds")
        goodput = _goodput(args.goodput)
        _check_length(args)
        workload = from_file(args.input, args.to, args.source) if args.input else built_in()
    except (_Usage, WorkloadError) as exc:
        print(f"hymt bench: error: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    target = Target(
        url=args.url,
        api=args.api,
        model=args.model or os.environ.get(ENV_MODEL) or DEFAULT_MODEL,
        api_key=(args.api_key or os.environ.get(ENV_API_KEY)) if args.api == "openai" else None,
        timeout=args.timeout,
        max_tokens=args.max_tokens,
        ignore_eos=args.ignore_eos,
        stream=args.stream,
    )
    count = args.requests if args.requests is not None or args.duration is not None else 20
    results = []
    for level in levels:
        progress = _Progress(level, args.rate)
        try:
            done = run_level(
                target, workload, concurrency=level, rate=args.rate, duration=args.duration, count=count,
                on_outcome=progress.update,
            )  # fmt: skip
        except TargetError as exc:
            print(f"hymt bench: error: {exc}", file=sys.stderr)
            return ExitStatus.USAGE
        progress.finish()
        summary = summarise(
            done.outcomes, done.duration, max_concurrency=level, request_rate=args.rate, goodput=goodput
        )
        results.append(summary)
        if not args.json:
            print(_table_row(summary), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    if args.plot:
        try:
            write_png(results, args.plot)
        except PlotUnavailable as exc:
            print(f"hymt bench: error: {exc}", file=sys.stderr)
            return ExitStatus.USAGE
        except OSError as exc:
            print(f"hymt bench: error: cannot write {args.plot}: {exc.strerror}", file=sys.stderr)
            return ExitStatus.USAGE
        print(f"hymt bench: wrote {args.plot}", file=sys.stderr)
    return ExitStatus.FAILURE if any(r["failed"] for r in results) else ExitStatus.OK


class _Progress:
    """A line on stderr that counts the level's requests as they finish (redrawn on a terminal)."""

    def __init__(self, level: int | None, rate: float | None) -> None:
        self.label = f"{level} clients" if level is not None else f"{rate:g} requests/s"
        self.done = self.failed = 0
        self.live = sys.stderr.isatty()

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += 0 if outcome.ok else 1
        if self.live:
            print(f"\r{self.label}: {self.done} done, {self.failed} failed", end="", file=sys.stderr, flush=True)

    def finish(self) -> None:
        end = "\r" if self.live else ""
        print(f"{end}{self.label}: {self.done} done, {self.failed} failed", file=sys.stderr, flush=True)


def _table_row(s: dict[str, object]) -> str:
    load = f"concurrency {s['max_concurrency']}" if s["max_concurrency"] else f"rate {s['request_rate']}/s"
    errors = ", ".join(f"{k} x{v}" for k, v in s["errors"].items()) or "none"  # type: ignore[union-attr]
    good = f", goodput {s['request_goodput']} req/s" if "request_goodput" in s else ""
    return (
        f"{load}: {s['completed']} completed in {s['duration']} s, {s['request_throughput']} req/s, "
        f"{s['output_throughput']} tok/s{good}; ttft p50 {s['median_ttft_ms']} p90 {s['p90_ttft_ms']} p99 "
        f"{s['p99_ttft_ms']} ms; itl p50 {s['median_itl_ms']} p99 {s['p99_itl_ms']} ms; e2el p50 "
        f"{s['median_e2el_ms']} p99 {s['p99_e2el_ms']} ms; errors: {errors}"
    )
