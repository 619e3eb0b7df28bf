"""Check results and their rendering (a line per check for people, JSON for machines)."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from hymt.core.exit import ExitStatus


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


class CheckFailed(Exception):
    """Raised by a check that found something wrong; the message says what."""


class CheckSkipped(Exception):
    """Raised by a check that cannot judge here; the message says why (it is never reported as passed)."""


def exit_code(results: Sequence[CheckResult]) -> ExitStatus:
    """`hymt verify`'s status: FAILURE when any check failed (USAGE, when it cannot run, is the command's)."""
    return ExitStatus.FAILURE if any(r.status is Status.FAIL for r in results) else ExitStatus.OK


def render_text(results: Sequence[CheckResult], target: str, color: bool = False) -> str:
    marks = {Status.PASS: ("PASS", "32"), Status.FAIL: ("FAIL", "31"), Status.SKIP: ("SKIP", "33")}
    width = max((len(r.name) for r in results), default=0)
    lines = [f"hymt verify {target}"]
    for r in results:
        label, code = marks[r.status]
        if color:
            label = f"\033[{code}m{label}\033[0m"
        lines.append(f"  {label}  {r.name:<{width}}  {r.seconds:6.2f}s  {r.detail}")
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    lines.append(f"{counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped")
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult], target: str, info: dict | None = None) -> str:
    return json.dumps(
        {
            "target": target,
            "ok": exit_code(results) == ExitStatus.OK,
            "info": info or {},
            "checks": [r.as_dict() for r in results],
        },
        ensure_ascii=False,
        indent=2,
    )
