"""When to try a request again, and how long to wait first: exponential backoff with jitter, Retry-After honoured."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

# Statuses that mean "not now" rather than "no": the server is overloaded (429) or not ready yet (503).
RETRY_STATUSES = frozenset({429, 503})
# The defaults, named here because inside RetryPolicy "random" and "sleep" are its fields.
_SLEEP = time.sleep
_RANDOM = random.random


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # attempts after the first
    base: float = 0.5
    cap: float = 10.0
    max_retry_after: float = 60.0
    # Injectable for tests: how to wait, and the random source of the jitter (returns 0 <= x < 1).
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    @classmethod
    def from_settings(
        cls,
        settings: object,
        *,
        sleep: Callable[[float], None] = _SLEEP,
        random: Callable[[], float] = _RANDOM,
    ) -> RetryPolicy:
        """The policy of a client's settings (any object with retries, backoff_base, backoff_max, max_retry_after)."""
        return cls(
            retries=settings.retries,  # type: ignore[attr-defined]
            base=settings.backoff_base,  # type: ignore[attr-defined]
            cap=settings.backoff_max,  # type: ignore[attr-defined]
            max_retry_after=settings.max_retry_after,  # type: ignore[attr-defined]
            sleep=sleep,
            random=random,
        )

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0 for the first): half fixed, half random ("equal jitter"),
        so clients that failed together do not come back together."""
        ceiling = min(self.cap, self.base * 2**retry)
        return ceiling / 2 + self.random() * ceiling / 2

    def wait_before(self, retry: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number `retry`, or None when it should not be made at all.

        A server's Retry-After is a minimum; one longer than `max_retry_after` ends the retries (the caller then
        reports it rather than hanging).
        """
        if retry >= self.retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        return max(self.backoff(retry), retry_after or 0.0)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
