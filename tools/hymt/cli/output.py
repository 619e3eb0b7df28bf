"""What every command shares: how errors and warnings reach the user (stderr, plain words)."""

from __future__ import annotations

import sys

from hymt.sdk.errors import HymtError

__all__ = ["report", "warn"]


def report(error: HymtError) -> None:
    print(f"hymt: error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hymt: hint: {error.hint}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"hymt: warning: {message}", file=sys.stderr)
