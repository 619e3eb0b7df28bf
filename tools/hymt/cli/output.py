"""What every command shares: how errors and warnings reach the user (stderr, plain words), and how a command's help
is laid out."""

from __future__ import annotations

import argparse
import sys

from hymt.sdk.errors import HymtError

__all__ = ["add_command", "report", "warn"]


def add_command(
    subparsers: argparse._SubParsersAction, name: str, help: str, description: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A command whose description and epilog (examples, exit codes) keep the line breaks they are written with."""
    return subparsers.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def report(error: HymtError) -> None:
    print(f"hymt: error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hymt: hint: {error.hint}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"hymt: warning: {message}", file=sys.stderr)
