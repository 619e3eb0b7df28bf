"""What every command shares: exit codes, and how errors and warnings reach the user (stderr, plain words)."""

from __future__ import annotations

import sys

from hymt.sdk.errors import EXIT_FAILURE, EXIT_USAGE, HymtError

EXIT_OK = 0
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a process killed by SIGPIPE
__all__ = ["EXIT_BROKEN_PIPE", "EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "report", "warn"]


def report(error: HymtError) -> None:
    print(f"hymt: error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hymt: hint: {error.hint}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"hymt: warning: {message}", file=sys.stderr)
