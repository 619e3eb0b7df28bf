"""The page as the gateway serves it: self-contained (nothing from elsewhere) and free of copied language data."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from hymt.core.languages import LANGUAGES
from tests.web.conftest import gateway, settings_for

pytestmark = pytest.mark.anyio

STATIC = files("hymt_web") / "static"
STATIC_FILES = ["index.html", "app.js", "style.css"]


async def test_the_page_and_its_files_are_served_with_a_strict_content_security_policy(fake):
    async with gateway(settings_for(fake)) as client:
        page = await client.get("/")
        assets = {name: await client.get(f"/static/{name}") for name in ("app.js", "style.css")}
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    for asset in assets.values():
        assert asset.status_code == 200
    # Relative references: the page keeps working when a proxy serves it under a path prefix.
    assert 'src="static/app.js"' in page.text and 'href="static/style.css"' in page.text


@pytest.mark.parametrize("name", STATIC_FILES)
def test_the_page_loads_nothing_from_elsewhere(name):
    text = (STATIC / name).read_text(encoding="utf-8")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import", text, re.IGNORECASE), name


@pytest.mark.parametrize("name", STATIC_FILES)
def test_language_names_are_not_copied_into_the_page(name):
    # Languages come from /api/languages. The two UI languages may name themselves on the language switch.
    text = (STATIC / name).read_text(encoding="utf-8")
    ui_languages = {"zh", "en"}
    copied = [
        f"{lang.code}: {word}"
        for lang in LANGUAGES
        if lang.code not in ui_languages
        for word in (lang.native, lang.name_zh, lang.name_en)
        if word in text
    ]
    assert not copied, f"{name} carries language names that belong to the core: {copied}"
