"""`python -m hymt_web [--host H] [--port P] [--workers N]`: the image's entry point (the same server as
`hymt web`)."""

from __future__ import annotations

import argparse
import sys

from hymt_web.server import add_arguments, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_web", description="Serve the hymt web translation app.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
