"""How long the client waits before retrying, and when it stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hymt.sdk.retry import RetryPolicy, parse_retry_after


def policy(jitter: float, **kwargs: object) -> RetryPolicy:
    return RetryPolicy(random=lambda: jitter, **kwargs)


def test_backoff_doubles_and_is_capped():
    waits = [policy(1.0, base=0.5, cap=3.0, retries=10).wait_before(n) for n in range(5)]
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("retry", range(4))
def test_jitter_keeps_at_least_half_of_the_backoff(retry):
    low = policy(0.0, base=1.0, cap=100.0).backoff(retry)
    high = policy(0.999, base=1.0, cap=100.0).backoff(retry)
    assert low == 2**retry / 2
    assert low < high < 2**retry


def test_no_wait_once_the_retries_are_used_up():
    retry = policy(0.5, retries=2)
    assert retry.wait_before(1) is not None
    assert retry.wait_before(2) is None
    assert policy(0.5, retries=0).wait_before(0) is None


def test_retry_after_is_a_minimum():
    retry = policy(0.5, base=0.5, max_retry_after=60)
    assert retry.wait_before(0, retry_after=5) == 5
    assert retry.wait_before(0, retry_after=0) == retry.backoff(0)


def test_retry_after_beyond_the_limit_stops_retrying():
    assert policy(0.5, max_retry_after=60).wait_before(0, retry_after=61) is None


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), (" 1.5 ", 1.5), ("-4", 0.0), (None, None), ("", None)])
def test_retry_after_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == 30
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(past, now=now.timestamp()) == 0


@pytest.mark.parametrize("header", ["soon", "Mon, 99 Foo 2026", "12 seconds"])
def test_unreadable_retry_after_is_ignored(header):
    assert parse_retry_after(header) is None
