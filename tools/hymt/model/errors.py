"""What can go wrong when fetching or checking a model, as errors that say what happened and what to do.

Each error carries the exit code of `hymt model fetch` and `hymt model check` (documented in their --help):

  0  the model is complete (fetched, already there, or checked)
  1  files are wrong: a file is missing, short or corrupt in DIR (check), or a downloaded file did not match the
     hub's index (fetch: nothing was put at DIR); also: another fetch is writing the same DIR
  2  usage: a bad option, an unreadable token file, a DIR that holds something else
  3  not found: no such repository or revision on the hub, or no manifest in DIR (check)
  4  access denied: the model is gated or private and needs a token, or the hub refused the token
  5  not enough disk space (checked before the first byte, and when a write fails)
  6  the hub or mirror failed: unreachable, timed out, or answered with an error or not like a hub
"""

from __future__ import annotations

from collections.abc import Iterable

from hymt.core.exit import ExitStatus
from hymt.sdk.errors import HymtError


class ModelError(HymtError):
    """Base of the model commands' errors."""

    exit_code = ExitStatus.FAILURE


class Damaged(ModelError):
    """Files are missing, short or corrupt, or a download did not match the index."""


class Busy(ModelError):
    """Another process is fetching into the same directory."""


class ModelUsageError(ModelError):
    exit_code = ExitStatus.USAGE


class NotFound(ModelError):
    exit_code = ExitStatus.NOT_FOUND


class AccessDenied(ModelError):
    exit_code = ExitStatus.ACCESS_DENIED


class NoSpace(ModelError):
    exit_code = ExitStatus.NO_SPACE


class HubFailed(ModelError):
    exit_code = ExitStatus.UNAVAILABLE


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced: library messages may echo what they were given."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def human_size(size: float) -> str:
    """Bytes in the unit a reader expects (decimal, as disks are sold and `df -H` shows)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
