"""The exit statuses of every hymt command (`hymt translate`, `hymt verify`, `hymt web`, the rehearsal tools ...)."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    # The work failed: the translation did not come back, or a check of `hymt verify` failed.
    FAILURE = 1
    # The command cannot run as asked: a bad option, value or setting the user can fix before trying again.
    USAGE = 2
    # What was asked for does not exist: no such repository or revision on the hub, no manifest in a directory.
    NOT_FOUND = 3
    # The server refused access: a gated or private model without a token, or a refused token.
    ACCESS_DENIED = 4
    # Not enough disk space for what the command must write.
    NO_SPACE = 5
    # A service the command depends on failed: a hub or mirror unreachable, timing out or answering with an error.
    UNAVAILABLE = 6
    # Ctrl-C.
    INTERRUPTED = 130
    # The reader of the output went away (e.g. '| head'): what a shell reports for a process killed by SIGPIPE.
    BROKEN_PIPE = 141
