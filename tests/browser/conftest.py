"""The page in a real browser: `hymt web`'s app (uvicorn on a free port) in front of the fake model server.

One Chromium for this package, a fresh context (own storage, locale, viewport) and page per test. Every test ends
with a screenshot in artifacts/browser/, and fails if the page threw an error or asked anything of another origin.

Package scope, not session: Playwright's sync API keeps an asyncio loop marked as running in this thread while it is
alive, and the async tests of other packages (anyio) could not start their own loop after these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hymt_web import Settings
from tests.browser.support import TranslatorPage, chromium, screenshot
from tests.support.fake_openai import FakeOpenAI, running
from tests.support.gateway import serving
from tests.support.web_deployment import SHARED_BY_TESTS

# Small, so the limit is easy to reach in a test; the page must take it from /api/info, not assume 5000.
MAX_CHARS = 300

# Assertions wait for the page up to this long: CI machines have two cores and run builds next to the tests. (The
# banner's recovery needs one poll of 3 s plus the gateway's 2 s readiness cache.)
expect.set_options(timeout=15_000)


@pytest.fixture(scope="package")
def fake_model() -> Iterator[FakeOpenAI]:
    with running() as server:
        yield server


@pytest.fixture(scope="package")
def web_url(fake_model: FakeOpenAI) -> Iterator[str]:
    settings = Settings(
        upstream_url=fake_model.url, served_model=fake_model.behaviour.model, max_chars=MAX_CHARS, **SHARED_BY_TESTS
    )
    with serving(settings) as url:
        yield url


@pytest.fixture
def fake(fake_model: FakeOpenAI) -> FakeOpenAI:
    fake_model.reset()
    return fake_model


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@dataclass
class PageWatch:
    """What a page did that a test did not ask for: script errors and requests to other origins."""

    base_url: str
    errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", lambda message: message.type == "error" and self._console_error(message.text))
        page.on("request", self._request)

    def _console_error(self, text: str) -> None:
        # A failed fetch the page handles itself (e.g. HTTP 503 while the model loads) is logged by Chromium too.
        if "Failed to load resource" not in text:
            self.errors.append(f"console: {text}")

    def _request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.base_url + "/") or url.startswith("data:") or url == self.base_url):
            self.foreign_requests.append(url)


@pytest.fixture
def context_options() -> dict:
    """Browser context options; tests override this fixture (locale, viewport, colour scheme ...)."""
    return {"locale": "en-US", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def context(browser: Browser, context_options: dict) -> Iterator[BrowserContext]:
    context = browser.new_context(**context_options)
    yield context
    context.close()


@pytest.fixture
def translator(request, context: BrowserContext, web_url: str, fake: FakeOpenAI) -> Iterator[TranslatorPage]:
    yield from open_translator(request, context, web_url)


def open_translator(request, context: BrowserContext, base_url: str) -> Iterator[TranslatorPage]:
    page = context.new_page()
    watch = PageWatch(base_url)
    watch.attach(page)
    translator = TranslatorPage(page, base_url)
    try:
        yield translator
    finally:
        if not page.is_closed():
            screenshot(page, request.node.name)
    assert not watch.errors, f"the page reported errors: {watch.errors}"
    assert not watch.foreign_requests, f"the page asked other origins: {watch.foreign_requests}"
