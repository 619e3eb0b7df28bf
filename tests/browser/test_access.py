"""The page of a private deployment (HYMT_ACCESS_KEYS_FILE): it shows a key field only when /api/info says a key is
required, says what to do without a key or with a wrong one, translates with the right one, and remembers the key in
this browser (localStorage) across visits."""

from __future__ import annotations

import hashlib

from playwright.sync_api import expect

from hymt_web import Settings
from tests.browser.conftest import open_translator
from tests.browser.support import screenshot
from tests.support.gateway import serving

KEY = "page-key-6d1f0b7e93a2"


def test_an_open_deployment_shows_no_key_field(translator):
    translator.open()
    expect(translator.page.locator("#access")).to_be_hidden()


def test_a_private_deployments_page_asks_for_the_key_and_remembers_it(browser, request, fake, tmp_path):
    keys = tmp_path / "access_keys"
    keys.write_text(hashlib.sha256(KEY.encode()).hexdigest() + " page\n", encoding="utf-8")
    settings = Settings(upstream_url=fake.url, served_model=fake.behaviour.model, access_keys_file=str(keys))
    context = browser.new_context(locale="en-US")
    try:
        with serving(settings) as url:
            for translator in open_translator(request, context, url):
                page = translator.page
                field = page.locator("#access-key")
                translator.open()
                expect(page.locator("#access")).to_be_visible()
                expect(page.locator("#access-hint")).to_contain_text("kept in this browser only")
                translator.text.fill("Hello")
                translator.translate_button.click()
                expect(translator.error).to_contain_text("This service needs an access key")
                expect(field).to_be_focused()
                field.fill("not-the-key")
                translator.translate("Hello")
                expect(translator.error).to_contain_text("The access key was not accepted")
                assert fake.chat_requests() == []
                field.fill(KEY)
                translator.translate("Hello")
                expect(translator.error).to_be_hidden()
                expect(translator.output).not_to_be_empty()
                screenshot(page, "access-key-translated")
                # Another visit in this browser: the key is filled in already and works.
                translator.open()
                expect(field).to_have_value(KEY)
                translator.translate("Good night")
                expect(translator.error).to_be_hidden()
                expect(translator.output).to_contain_text("Good night")
    finally:
        context.close()
