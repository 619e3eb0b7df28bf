"""Fixtures of the unit tests: a clean environment and the fake OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_openai import FakeOpenAI

# The variables the SDK and CLI read: a developer's own settings must not change the results.
ENV_NAMES = (
    "HYMT_WEB_URL",
    "HYMT_UPSTREAM_URL",
    "HYMT_API_KEY",
    "HYMT_SERVED_MODEL",
    "HYMT_ACCESS_KEY",
    "HYMT_DEBUG",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    """One fake server per test module (started once; `fake` resets it for each test)."""
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the clients asked for between retries (recorded, not slept)."""
    return []
