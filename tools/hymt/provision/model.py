"""The model role's decisions: the message of a hymt command out of a container's output.

A container's log interleaves hymt's progress lines with its result; users need the result: the "hymt: error:" and
"hymt: hint:" lines of a failure, or the summary line of a success.
"""

from __future__ import annotations

_TAIL = 15


def tool_message(output: str, inside: str = "", outside: str = "") -> str:
    """The error and hint lines of hymt's output (its last lines when it printed none), with the container's path
    `inside` (the models' mount point) written as the host's path `outside`."""
    lines = [line.strip() for line in str(output or "").splitlines() if line.strip()]
    said = " ".join([line for line in lines if line.startswith(("hymt: error:", "hymt: hint:"))] or lines[-_TAIL:])
    if inside and outside:
        said = said.replace(inside.rstrip("/") + "/", outside.rstrip("/") + "/")
    return said or "(it printed nothing)"


def tool_summary(output: str) -> str:
    """The last line that is not progress: the result hymt printed on standard output."""
    lines = [line.strip() for line in str(output or "").splitlines() if line.strip()]
    results = [line for line in lines if not line.startswith("hymt:")]
    return results[-1] if results else (lines[-1] if lines else "")
