"""Gateway tests: the app runs in-process (httpx's ASGITransport) against the fake OpenAI server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from hymt_web import Settings, create_app
from tests.support.fake_openai import FakeOpenAI, running
from tests.support.web_deployment import gateway_settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    with running() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    """The fake OpenAI server with default behaviour and no recorded requests."""
    fake_server.reset()
    return fake_server


# The gateway's settings for a test against `fake` (tests/support has the one definition).
settings_for = gateway_settings


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh app for `settings`, with the app's lifespan (its upstream client) running."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        client.app = app  # type: ignore[attr-defined]  # tests look at app.state (in-flight count)
        yield client


def parse_events(body: str) -> list[tuple[str, dict]]:
    """Server-sent events as (event, data) pairs."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def source_of(prompt: str) -> str:
    """The text a prompt asks to translate (everything after the template's blank line)."""
    return prompt.partition("\n\n")[2]
