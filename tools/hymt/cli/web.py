"""`hymt web [--host H] [--port P] [--workers N]`: run the web translation app locally, configured like its image
(HYMT_*)."""

from __future__ import annotations

import argparse
import sys

from hymt.cli.output import add_command
from hymt.core.exit import ExitStatus

DESCRIPTION = """\
Serve the translation page and its /api on this machine, in front of an OpenAI-compatible server (vLLM).
Configured from the environment, as in the image: HYMT_UPSTREAM_URL (base URL ending in /v1), HYMT_API_KEY,
HYMT_SERVED_MODEL, HYMT_MODEL_FAMILY, HYMT_PROFILE (gpu|rehearsal), HYMT_MAX_CHARS, HYMT_MAX_IN_FLIGHT,
HYMT_MAX_SEGMENTS, HYMT_CLIENT_RATE, HYMT_CLIENT_BURST, HYMT_CLIENT_MAX_IN_FLIGHT, HYMT_FORWARDED_ALLOW_IPS,
HYMT_ACCESS_KEYS_FILE, HYMT_COMPAT_APIS, HYMT_COMPAT_CHARACTER_LIMIT, HYMT_GLOSSARIES_FILE, HYMT_TOKENIZER_DIR,
HYMT_CONNECT_TIMEOUT, HYMT_READ_TIMEOUT, HYMT_REQUEST_TIMEOUT, HYMT_READY_PROBE_INTERVAL, HYMT_READY_PROBE_TIMEOUT
(docs/web.md)."""

_MISSING_EXTRA = "hymt web needs the web extra: pip install 'hymt[web]' (or 'make setup' in a checkout)"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `web` subcommand; running it calls `run(args)`, which returns the exit status."""
    parser = add_command(
        subparsers, "web", help="run the web translation app (page + /api) locally", description=DESCRIPTION
    )
    try:
        from hymt_web.server import add_arguments
    except ImportError:
        # Still a subcommand, so `hymt web` explains what to install instead of "invalid choice".
        parser.add_argument("--host")
        parser.add_argument("--port")
        parser.add_argument("--workers")
    else:
        add_arguments(parser)
    parser.set_defaults(func=run, handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        from hymt_web.server import serve
    except ImportError as exc:
        print(f"{_MISSING_EXTRA} ({exc})", file=sys.stderr)
        return ExitStatus.USAGE
    return serve(args.host, args.port, args.workers)


def main(argv: list[str] | None = None) -> int:
    """Run `web` alone (useful before the full CLI is installed): python -m hymt.cli.web --port 8080."""
    parser = argparse.ArgumentParser(prog="hymt")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["web", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
