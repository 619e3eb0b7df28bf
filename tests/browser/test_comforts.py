"""The rest of what the page promises: search, counter, memory, history, two UI languages, keyboard, phone, dark."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MAX_CHARS, open_translator
from tests.browser.support import screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("query", ["Deutsch", "german", "德语", "de"])
def test_pickers_find_a_language_by_native_english_or_chinese_name(translator, query):
    translator.open()
    translator.choose("target", query, "de")
    expect(translator.picker("target")).to_have_value("German · Deutsch")


def test_a_search_without_match_says_so(translator):
    translator.open()
    translator.picker("target").fill("Klingon")
    expect(translator.page.locator("#target-list")).to_have_text("No language matches")
    translator.picker("target").press("Escape")  # and nothing changed
    assert translator.value("target") == "zh"


def test_the_counter_uses_the_limit_from_the_gateway(translator, fake):
    translator.open()
    expect(translator.counter).to_have_text(f"0 / {MAX_CHARS} characters")
    translator.text.fill("😀 ok")  # characters, not UTF-16 units: as the gateway counts
    expect(translator.counter).to_have_text(f"4 / {MAX_CHARS} characters")
    translator.text.fill("x" * (MAX_CHARS + 1))
    expect(translator.counter).to_have_class("counter over")
    translator.translate_button.click()
    expect(translator.error).to_have_text(
        f"The text is too long: {MAX_CHARS + 1} characters, the limit is {MAX_CHARS}. Translate it in parts."
    )
    assert fake.chat_requests() == []


def test_the_last_language_pair_is_remembered(translator):
    translator.open()
    translator.choose("source", "Français", "fr")
    translator.choose("target", "Japanese", "ja")
    translator.page.reload()
    translator.open()
    assert (translator.value("source"), translator.value("target")) == ("fr", "ja")


def test_recent_translations_are_kept_in_this_browser(translator, fake):
    translator.open()
    translator.choose("source", "English", "en")
    translator.choose("target", "Spanish", "es")
    translator.translate("First text")
    translator.choose("target", "Italian", "it")
    translator.translate("Second text")
    expect(translator.history).to_have_count(2)
    expect(translator.history.first).to_contain_text("English → Italian")
    expect(translator.history.first).to_contain_text("Second text")

    translator.page.reload()
    translator.open()
    expect(translator.history).to_have_count(2)
    translator.history.nth(1).get_by_role("button").click()
    assert translator.text.input_value() == "First text"
    expect(translator.output).to_have_text("Spanish translation of: First text")
    assert (translator.value("source"), translator.value("target")) == ("en", "es")
    screenshot(translator.page, "history")

    translator.page.get_by_role("button", name="Clear history").click()
    expect(translator.history).to_have_count(0)
    translator.page.reload()
    translator.open()
    expect(translator.history).to_have_count(0)


@pytest.mark.parametrize("context_options", [{"locale": "zh-CN"}])
def test_the_ui_follows_a_chinese_browser_and_can_switch_to_english(translator, fake, context_options):
    translator.open()
    expect(translator.page.locator("h1")).to_have_text("混元翻译")
    expect(translator.translate_button).to_have_text("翻译")
    assert translator.page.locator("html").get_attribute("lang") == "zh-CN"
    assert translator.value("target") == "en"  # a Chinese reader's first guess of a target
    translator.translate("你好")
    expect(translator.status).to_have_text("翻译完成。")
    screenshot(translator.page, "ui-chinese")

    translator.ui_switch.click()
    expect(translator.page.locator("h1")).to_have_text("Hunyuan-MT Translate")
    expect(translator.translate_button).to_have_text("Translate")
    translator.page.reload()
    translator.open()
    expect(translator.translate_button).to_have_text("Translate")  # the choice is remembered


def test_the_ui_is_english_for_an_english_browser(translator):
    translator.open()
    expect(translator.page.locator("h1")).to_have_text("Hunyuan-MT Translate")
    expect(translator.ui_switch).to_have_text("中文")


def test_every_control_has_a_name_and_a_keyboard_user_can_translate(translator, fake):
    page = translator.page
    translator.open()
    expect(page.get_by_role("combobox", name="From")).to_be_visible()
    expect(page.get_by_role("combobox", name="To")).to_be_visible()
    expect(page.get_by_role("textbox", name="Text to translate")).to_be_visible()
    expect(page.get_by_role("region", name="Translation", exact=True)).to_be_visible()
    for name in ("Swap languages", "Translate", "Copy", "Clear", "切换到中文"):
        expect(page.get_by_role("button", name=name)).to_be_attached()

    # Only the keyboard from here on.
    focused = []
    while len(focused) < 12 and (not focused or focused[-1] != "source-input"):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
    assert focused[-1] == "source-input"
    page.keyboard.type("germ")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the swap button
    assert page.evaluate("document.activeElement.id") == "swap"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "target-input"
    page.keyboard.type("fren")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.type("Guten Tag")
    page.keyboard.press("Control+Enter")
    expect(translator.output).to_have_text("French translation of: Guten Tag")
    # The live region tells screen reader users what happened.
    expect(page.get_by_role("status")).to_have_text("Translation done.")
    assert (translator.value("source"), translator.value("target")) == ("de", "fr")


@pytest.mark.parametrize(
    "context_options",
    [{"locale": "en-US", "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}],
)
def test_the_page_is_usable_on_a_phone(translator, fake, context_options):
    page = translator.page
    translator.open()
    width = context_options["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    text_box = translator.text.bounding_box()
    output_box = translator.output.bounding_box()
    assert output_box["y"] > text_box["y"] + text_box["height"]  # one column: the translation below the text
    assert translator.translate_button.bounding_box()["height"] >= 44  # a finger-sized target
    translator.text.fill("Good morning\n\nHave a nice day")
    translator.translate_button.tap()
    translator.wait_until_done()
    expect(translator.output).to_have_text("中文 translation of: Good morning\n\n中文 translation of: Have a nice day")
    expect(translator.history).to_have_count(1)  # a long history entry must not widen the page either
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, "phone")


def luminance(page, selector: str, prop: str) -> float:
    rgb = page.locator(selector).evaluate(f"e => getComputedStyle(e).{prop}")
    red, green, blue = (int(part) for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_light_and_dark_follow_the_system(browser, request, web_url, fake, scheme):
    context = browser.new_context(locale="en-US", color_scheme=scheme)
    try:
        for translator in open_translator(request, context, web_url):
            translator.open()
            background = luminance(translator.page, "body", "backgroundColor")
            text = luminance(translator.page, "body", "color")
            if scheme == "dark":
                assert background < 0.2 < 0.7 < text
            else:
                assert text < 0.2 < 0.7 < background
            screenshot(translator.page, f"scheme-{scheme}")
    finally:
        context.close()
