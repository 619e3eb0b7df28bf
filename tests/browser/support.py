"""Driving the translation page in Debian's Chromium, reusable against any deployment: give it a base URL.

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(locale="en-US").new_page()
        translator = TranslatorPage(page, "http://127.0.0.1:8080")
        translator.open()
        translator.choose("target", "French", "fr")
        translator.translate("Hello")
        assert translator.output.inner_text()

Never `playwright install`: it downloads browsers. Debian's chromium package is the browser (make browser).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright

from tests.support.repo import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts" / "browser"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium for the length of the block (a test that needs it is skipped off CI when it is missing).

    Keep it package- or module-scoped: while a sync Playwright instance lives, async tests cannot start a loop.
    """
    from tests.conftest import require

    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: run 'make browser' (installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with a fresh temporary profile (Playwright's launch creates one)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact (artifacts/browser/NAME.png, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


class TranslatorPage:
    """The page's controls by role and id, and the steps a user takes."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.text = page.locator("#text")
        self.output = page.locator("#output")
        self.translate_button = page.locator("#translate")
        self.stop_button = page.locator("#stop")
        self.swap_button = page.locator("#swap")
        self.copy_button = page.locator("#copy")
        self.counter = page.locator("#counter")
        self.banner = page.locator("#banner")
        self.error = page.locator("#error")
        self.status = page.locator("#status")
        self.elapsed = page.locator("#elapsed")
        self.history = page.locator("#history-list li")
        self.ui_switch = page.locator("#ui-lang")

    def open(self, path: str = "/") -> TranslatorPage:
        self.page.goto(self.base_url + path)
        # The page marks itself ready once it has the languages and limits from the gateway.
        self.page.wait_for_selector("body[data-ready=true]", state="attached")
        return self

    def picker(self, side: str) -> Locator:
        return self.page.locator(f"#{side}-input")

    def options(self, side: str) -> Locator:
        return self.page.locator(f"#{side}-list [role=option]")

    def value(self, side: str) -> str | None:
        return self.page.locator(f"#{side}-picker").get_attribute("data-value")

    def choose(self, side: str, query: str, code: str) -> None:
        """Search the picker for `query` and take the option `code` (with the keyboard, as a user would)."""
        picker = self.picker(side)
        picker.click()
        picker.fill(query)
        option = self.page.locator(f"#{side}-opt-{code}")
        expect(option).to_be_visible()
        # Walk to the option with the arrow keys: the highlighted one is the input's aria-activedescendant.
        for _ in range(self.options(side).count()):
            if picker.get_attribute("aria-activedescendant") == f"{side}-opt-{code}":
                break
            picker.press("ArrowDown")
        picker.press("Enter")
        expect(self.page.locator(f"#{side}-picker")).to_have_attribute("data-value", code)

    def translate(self, text: str | None = None, *, wait: bool = True) -> None:
        if text is not None:
            self.text.fill(text)
        self.translate_button.click()
        if wait:
            self.wait_until_done()

    def wait_until_done(self) -> None:
        expect(self.output).to_have_attribute("aria-busy", "false")
        expect(self.stop_button).to_be_hidden()
