"""The page's must-haves, as a user meets them in Chromium."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from hymt.core.languages import LANGUAGES
from hymt_web import Settings
from tests.browser.conftest import open_translator
from tests.browser.support import screenshot
from tests.support.gateway import serving
from tests.support.net import free_port

pytestmark = pytest.mark.browser

RTL_CODES = {"ar", "fa", "ur", "he", "ug"}


def source_of(prompt: str) -> str:
    return prompt.partition("\n\n")[2]


def test_pickers_offer_auto_and_every_language_of_the_gateway(translator, web_url):
    translator.open()
    served = [lang["code"] for lang in httpx.get(f"{web_url}/api/languages").json()["languages"]]
    assert served == [lang.code for lang in LANGUAGES]

    translator.picker("source").click()
    source_codes = [o.get_attribute("data-code") for o in translator.options("source").all()]
    assert source_codes == ["auto", *served]
    translator.picker("source").press("Escape")
    translator.picker("target").click()
    target_codes = [o.get_attribute("data-code") for o in translator.options("target").all()]
    assert target_codes == served
    # Each option shows the native name and both the English and the Chinese one.
    german = translator.page.locator("#target-opt-de")
    expect(german).to_contain_text("Deutsch")
    expect(german).to_contain_text("German")
    expect(german).to_contain_text("德语")
    screenshot(translator.page, "pickers-open")


def test_translate_button_sends_the_pair_and_shows_the_translation(translator, fake):
    translator.open()
    translator.choose("source", "Deutsch", "de")
    translator.choose("target", "French", "fr")
    translator.translate("Guten Morgen")
    expect(translator.output).to_have_text("French translation of: Guten Morgen")
    expect(translator.error).to_be_hidden()
    expect(translator.status).to_have_text("Translation done.")
    [sent] = fake.chat_requests()
    assert sent["stream"] is True
    assert sent["messages"][0]["content"].startswith("Translate the following segment into French")


@pytest.mark.parametrize("modifier", ["Control", "Meta"])
def test_ctrl_or_cmd_enter_translates(translator, fake, modifier):
    translator.open()
    translator.choose("target", "English", "en")
    translator.text.fill("Bonjour")
    translator.text.press(f"{modifier}+Enter")
    expect(translator.output).to_have_text("English translation of: Bonjour")
    assert translator.text.input_value() == "Bonjour"  # the shortcut does not type a line break


def test_the_translation_streams_in_as_it_arrives_and_stop_ends_it(translator, fake):
    # Three pieces, then the model goes quiet: whatever shows up came through the stream, not at the end.
    fake.behaviour.chunk_chars = 5
    fake.behaviour.stall_stream_after = 3
    translator.open()
    translator.choose("target", "English", "en")
    translator.translate("Hallo Welt", wait=False)
    expect(translator.output).to_have_text("English transla")
    expect(translator.output).to_have_attribute("aria-busy", "true")
    expect(translator.stop_button).to_be_visible()
    screenshot(translator.page, "streaming")
    translator.stop_button.click()
    translator.wait_until_done()
    expect(translator.output).to_have_text("English transla")  # what arrived stays
    expect(translator.status).to_have_text("Stopped.")
    # Stopping reached the model: its stream was cancelled, not left running.
    deadline = time.monotonic() + 15
    while fake.streams_cancelled < 1:
        assert time.monotonic() < deadline, "the model's stream was not cancelled"
        time.sleep(0.05)


def test_swap_trades_languages_and_texts(translator, fake):
    translator.open()
    expect(translator.swap_button).to_be_disabled()  # Auto with nothing detected yet: nothing to swap to
    translator.choose("source", "English", "en")
    translator.choose("target", "Japanese", "ja")
    translator.translate("Good night")
    translator.swap_button.click()
    assert (translator.value("source"), translator.value("target")) == ("ja", "en")
    assert translator.text.input_value() == "Japanese translation of: Good night"
    expect(translator.output).to_have_text("Good night")


def test_swap_after_auto_uses_the_detected_language(translator, fake):
    translator.open()
    translator.choose("target", "English", "en")
    translator.translate("早上好，今天天气很好")
    expect(translator.page.locator("#detected")).to_have_text("Detected: Chinese")
    translator.swap_button.click()
    assert (translator.value("source"), translator.value("target")) == ("en", "zh")


def test_copy_puts_the_translation_on_the_clipboard(browser, request, web_url, fake):
    context = browser.new_context(locale="en-US", permissions=["clipboard-read", "clipboard-write"])
    try:
        for translator in open_translator(request, context, web_url):
            translator.open()
            expect(translator.copy_button).to_be_disabled()
            translator.choose("target", "Korean", "ko")
            translator.translate("Thank you")
            translator.copy_button.click()
            expect(translator.status).to_have_text("Translation copied.")
            assert translator.page.evaluate("navigator.clipboard.readText()") == "Korean translation of: Thank you"
    finally:
        context.close()


def test_a_banner_shows_while_the_model_loads_and_clears_by_itself(browser, request, fake):
    fake.behaviour.healthy = False
    context = browser.new_context(locale="en-US")
    try:
        # A gateway of its own: the shared one may still hold a readiness answer from before the model "went down".
        with serving(Settings(upstream_url=fake.url, served_model=fake.behaviour.model)) as url:
            for translator in open_translator(request, context, url):
                translator.open()
                expect(translator.banner).to_be_visible()
                expect(translator.banner).to_contain_text("loading")
                expect(translator.banner).to_contain_text("Trying again by itself")
                screenshot(translator.page, "banner-loading")
                fake.behaviour.healthy = True  # the model finished loading; nobody touches the page
                expect(translator.banner).to_be_hidden()
                expect(translator.status).to_have_text("The translation model is ready again.")
    finally:
        context.close()


def test_a_banner_says_when_the_model_cannot_be_reached(browser, request):
    nowhere = Settings(upstream_url=f"http://127.0.0.1:{free_port()}/v1")
    context = browser.new_context(locale="en-US")
    try:
        with serving(nowhere) as url:
            for translator in open_translator(request, context, url):
                translator.open()
                expect(translator.banner).to_contain_text("cannot be reached")
                translator.translate("Hello")
                expect(translator.error).to_contain_text("The translation model cannot be reached")
    finally:
        context.close()


def test_errors_are_shown_in_words(translator, fake):
    translator.open()
    translator.translate("   ")
    expect(translator.error).to_have_text("There is no text to translate. Type or paste some text first.")
    fake.behaviour.fail_status, fake.behaviour.fail_count = 500, 1
    translator.translate("Hello")
    expect(translator.error).to_contain_text("The translation model answered with an error. Try again.")
    # The gateway's own words say what to do; what the model server said stays in the web app's log.
    expect(translator.error).to_contain_text("tell the operator of this service")
    expect(translator.error).not_to_contain_text("planned failure")
    screenshot(translator.page, "error")
    translator.translate("Hello")  # recovered: the error goes away
    expect(translator.error).to_be_hidden()
    expect(translator.output).not_to_be_empty()


def test_right_to_left_targets_are_shown_right_to_left(translator, fake):
    translator.open()
    translator.choose("source", "English", "en")
    for lang in LANGUAGES:
        if lang.code not in RTL_CODES | {"fr"}:
            continue
        translator.choose("target", lang.name_en, lang.code)
        translator.translate("Peace")
        expected = "rtl" if lang.rtl else "ltr"
        expect(translator.output).to_have_attribute("dir", expected)
        expect(translator.output).to_have_attribute("lang", lang.code)
        assert translator.output.evaluate("element => getComputedStyle(element).direction") == expected
        if lang.code == "ar":
            screenshot(translator.page, "rtl-arabic")
    assert {lang.code for lang in LANGUAGES if lang.rtl} == RTL_CODES


def test_multi_paragraph_text_keeps_its_line_breaks(translator, fake):
    fake.behaviour.reply = lambda prompt: source_of(prompt).upper()
    text = "First paragraph, first line.\nSecond line.\n\nSecond paragraph.\n\n\n  Indented third."
    translator.open()
    translator.choose("target", "French", "fr")
    translator.translate(text)
    assert translator.output.inner_text() == text.upper()
    # Rendered on separate lines, not run together: the output is several lines tall.
    line_height = translator.output.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    box = translator.output.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e); "
                                     "return r.getBoundingClientRect().height; }")  # fmt: skip
    assert box >= 6 * line_height
