"""What a check found: passed, failed, or skipped with a reason — and whether the whole run counts as verified.

A skip is never a pass. The declared profile says which skips it expects (the rehearsal host has no GPU, and the
rehearsal model's answers are not language); any other skip, or any skip under --strict, leaves the run unverified.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from hymt.core.exit import ExitStatus

PROFILES = ("gpu", "rehearsal")


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


class SkipKind(enum.StrEnum):
    """Why a check could not judge. Only the first two are ever expected, and only by the rehearsal profile."""

    NO_GPU = "no-gpu"  # the host has no GPU (the rehearsal host)
    REHEARSAL_MODEL = "rehearsal-model"  # the rehearsal model's answers are gibberish, not language
    NOT_JUDGED = "not-judged"  # anything else: a prerequisite failed, a tool is missing ...


# The skips each profile expects; every other skip leaves the run unverified.
EXPECTED_SKIPS: dict[str, frozenset[SkipKind]] = {
    "gpu": frozenset(),
    "rehearsal": frozenset({SkipKind.NO_GPU, SkipKind.REHEARSAL_MODEL}),
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    reason: str
    seconds: float = 0.0
    target: str = ""
    skip_kind: SkipKind | None = None

    def expected_by(self, profile: str) -> bool:
        """Whether this skip is one the declared profile expects (False for passes and failures)."""
        return self.status is Status.SKIP and self.skip_kind in EXPECTED_SKIPS.get(profile, frozenset())

    def blocks(self, profile: str, strict: bool = False) -> bool:
        """Whether this result keeps a run from counting as verified: a failure, or a skip that `profile` does not
        expect (any skip when strict)."""
        if self.status is Status.FAIL:
            return True
        return self.status is Status.SKIP and (strict or not self.expected_by(profile))

    def as_dict(self, profile: str) -> dict[str, object]:
        entry: dict[str, object] = {
            "target": self.target,
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }
        if self.status is Status.SKIP:
            entry["skip_kind"] = (self.skip_kind or SkipKind.NOT_JUDGED).value
            entry["expected"] = self.expected_by(profile)
        return entry


def passed(name: str, reason: str, seconds: float = 0.0, target: str = "") -> CheckResult:
    return CheckResult(name, Status.PASS, reason, seconds, target)


def failed(name: str, reason: str, seconds: float = 0.0, target: str = "") -> CheckResult:
    return CheckResult(name, Status.FAIL, reason, seconds, target)


def skipped(
    name: str, reason: str, kind: SkipKind = SkipKind.NOT_JUDGED, seconds: float = 0.0, target: str = ""
) -> CheckResult:
    return CheckResult(name, Status.SKIP, reason, seconds, target, kind)


class CheckFailed(Exception):
    """Raised by a check that found something wrong; the message says what, and what to do."""


class CheckSkipped(Exception):
    """Raised by a check that cannot judge here; the message says why. Never reported as passed."""

    def __init__(self, reason: str, kind: SkipKind = SkipKind.NOT_JUDGED):
        super().__init__(reason)
        self.kind = kind


# `hymt verify`'s exit statuses: OK, every check passed or was skipped for a reason the declared profile expects;
# FAILURE, a check failed or was skipped without such a reason (any skip with --strict); USAGE, the checks could not
# run (bad usage, nothing reachable, an unreadable inventory).


@dataclass(frozen=True)
class Summary:
    passed: int
    failed: int
    skipped: int
    skipped_unexpected: int

    @classmethod
    def of(cls, results: Iterable[CheckResult], profile: str) -> Summary:
        results = list(results)
        skips = [r for r in results if r.status is Status.SKIP]
        return cls(
            passed=sum(r.status is Status.PASS for r in results),
            failed=sum(r.status is Status.FAIL for r in results),
            skipped=len(skips),
            skipped_unexpected=sum(not r.expected_by(profile) for r in skips),
        )

    def line(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        if self.skipped_unexpected:
            text += f" ({self.skipped_unexpected} not expected by the profile)"
        return text


def exit_code(results: Sequence[CheckResult], profile: str, strict: bool = False) -> ExitStatus:
    """0 only when every check passed or was skipped for a reason `profile` expects (no skip at all when strict)."""
    if not results:
        return ExitStatus.FAILURE  # nothing was checked: nothing is verified
    return ExitStatus.FAILURE if any(result.blocks(profile, strict) for result in results) else ExitStatus.OK


def run_check(
    name: str,
    call: Callable[[], str | list[CheckResult]],
    target: str,
    *,
    explain: Callable[[Exception], str | None] = lambda exc: None,
    propagate: tuple[type[BaseException], ...] = (),
) -> list[CheckResult]:
    """Run one check: a string is its pass reason, a list its own results; CheckFailed and CheckSkipped say why not.
    Any other exception is a failed check, never a crash (`explain` may word it; `propagate` lets some through).
    Every result gets `target`, and the check's time when it has none of its own."""
    started = time.monotonic()
    try:
        outcome = call()
    except propagate:
        raise
    except CheckFailed as exc:
        outcome = [failed(name, str(exc))]
    except CheckSkipped as exc:
        outcome = [skipped(name, str(exc), exc.kind)]
    except Exception as exc:
        outcome = [failed(name, explain(exc) or f"unexpected: {type(exc).__name__}: {exc}")]
    seconds = time.monotonic() - started
    if isinstance(outcome, str):
        outcome = [passed(name, outcome)]
    if len(outcome) == 1 and not outcome[0].seconds:
        outcome = [replace(outcome[0], seconds=seconds)]
    return [replace(result, target=target) for result in outcome]
