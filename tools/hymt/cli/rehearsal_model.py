"""`hymt rehearsal-model --out DIR`: generate the tiny rehearsal model (also `python -m hymt.rehearsal`)."""

from __future__ import annotations

import argparse

from hymt.rehearsal.cli import DESCRIPTION, add_arguments, run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rehearsal-model",
        help="generate the tiny rehearsal model for vLLM on CPU (offline, a few seconds)",
        description=DESCRIPTION + " Exit codes: 0 done (or already there), 2 it could not be written.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
