"""`hymt verify`: check a deployment from the outside; exit 0 when all pass, 1 when any fails, 2 when it cannot run."""

from __future__ import annotations

import argparse
import os
import sys

from hymt.core.exit import ExitStatus
from hymt.verify.result import exit_code, render_json, render_text
from hymt.verify.runner import CouldNotRun, verify_http


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a deployment: page, health, languages, translations, streaming, what must not be exposed",
        description=(
            "Check a deployment through its public URL (the proxy), concurrently: a pass/fail/skip line per check. "
            "Exit codes: 0 all passed, 1 a check failed, 2 the checks could not run."
        ),
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("HYMT_VERIFY_URL"),
        help="the deployment's public base URL, e.g. http://203.0.113.7 (default: $HYMT_VERIFY_URL)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer (default 60)")
    parser.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="first wait up to SECONDS for /readyz to turn 200"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.url:
        print("hymt verify: error: give the deployment's URL with --url (or set HYMT_VERIFY_URL)", file=sys.stderr)
        return ExitStatus.USAGE
    if not args.url.startswith(("http://", "https://")):
        print(f"hymt verify: error: --url must start with http:// or https://, got {args.url!r}", file=sys.stderr)
        return ExitStatus.USAGE
    try:
        probe, results = verify_http(args.url, timeout=args.timeout, wait=args.wait)
    except CouldNotRun as exc:
        print(f"hymt verify: error: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    if args.json:
        print(render_json(results, args.url, probe.info))
    else:
        print(render_text(results, args.url, color=sys.stdout.isatty()))
    return exit_code(results)
