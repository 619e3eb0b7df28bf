"""The command line of the generator, shared by `hymt rehearsal-model` and `python -m hymt.rehearsal`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hymt.core.exit import ExitStatus
from hymt.rehearsal.generate import RehearsalModelError, generate

DESCRIPTION = (
    "Generate the tiny rehearsal model (Hunyuan-MT-7B's architecture, random bf16 weights, a small trained tokenizer "
    "and Hunyuan-MT's chat template) for vLLM on CPU. Runs offline; does nothing when DIR already holds it."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write the model into")
    parser.add_argument(
        "--force", action="store_true", help="replace DIR's contents even if they were not made by this command"
    )


def run(args: argparse.Namespace) -> int:
    try:
        model = generate(args.out, force=args.force)
    except RehearsalModelError as error:
        print(f"hymt rehearsal-model: error: {error}", file=sys.stderr)
        return ExitStatus.USAGE
    state = "generated" if model.generated else "already complete, left as it is"
    print(f"rehearsal model {state}: {model.path} ({model.size_bytes / 1e6:.1f} MB)")
    return ExitStatus.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt.rehearsal", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
