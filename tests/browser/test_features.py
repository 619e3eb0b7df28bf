"""The page's translation options in Chromium: the glossary panel (add, edit, remove, TSV export and import, kept in
this browser), context, format and style, shown disabled with the reason when the served model's family has no
prompt for them; the switch away from a target in the text's own language; the answer's warnings.

What reaches the model is read from the stand-in upstream's record of the prompt, written out here by hand from
Tencent's Hy-MT2 templates (tests/unit/test_features.py has every template).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from hymt_web import Settings
from tests.browser.conftest import MAX_CHARS, open_translator
from tests.browser.support import TranslatorPage, screenshot
from tests.support.fake_openai import FakeOpenAI
from tests.support.gateway import serving
from tests.support.web_deployment import SHARED_BY_TESTS

pytestmark = pytest.mark.browser

HY_MT2 = "Hy-MT2-7B"


def gateway_of(fake_model: FakeOpenAI, served: str):
    """The gateway (a context manager yielding its URL) of a deployment serving `served` from the stand-in."""
    return serving(Settings(upstream_url=fake_model.url, served_model=served, max_chars=MAX_CHARS, **SHARED_BY_TESTS))


@pytest.fixture(autouse=True)
def stand_in_as_found(fake_model: FakeOpenAI) -> Iterator[None]:
    """The tests here change the stand-in's model name: the next test (the package's own gateway is created with the
    name it finds) gets the stand-in as the package's other tests expect it."""
    yield
    fake_model.reset()


@pytest.fixture(scope="module")
def hy_mt2_url(fake_model: FakeOpenAI) -> Iterator[str]:
    with gateway_of(fake_model, HY_MT2) as url:
        yield url


@pytest.fixture
def hy_mt2(request, context: BrowserContext, hy_mt2_url: str, fake: FakeOpenAI) -> Iterator[TranslatorPage]:
    """The page of a deployment serving a Hy-MT2 model (every option available)."""
    fake.behaviour.model = HY_MT2
    yield from open_translator(request, context, hy_mt2_url)


def open_options(translator: TranslatorPage) -> None:
    summary = translator.page.locator("#options summary")
    summary.focus()
    translator.page.keyboard.press("Enter")  # a disclosure the keyboard opens
    expect(translator.page.locator("#options")).to_have_attribute("open", "")


def add_term(translator: TranslatorPage, source: str, target: str) -> None:
    page = translator.page
    page.get_by_role("button", name="Add a term").click()
    number = page.locator("#glossary-rows tr").count()
    expect(page.get_by_label(f"Term {number}", exact=True)).to_be_focused()  # typing can start at once
    page.keyboard.type(source)
    page.keyboard.press("Tab")
    page.keyboard.type(target)


def glossary_rows(translator: TranslatorPage) -> list[tuple[str, str]]:
    rows = translator.page.locator("#glossary-rows tr")
    return [
        (rows.nth(i).locator("input").nth(0).input_value(), rows.nth(i).locator("input").nth(1).input_value())
        for i in range(rows.count())
    ]


def import_file(translator: TranslatorPage, path: Path) -> None:
    with translator.page.expect_file_chooser() as chooser:
        translator.page.get_by_role("button", name="Import TSV").click()
    chooser.value.set_files(str(path))


def test_a_glossary_is_edited_exported_imported_kept_and_reaches_the_model(hy_mt2, fake, tmp_path):
    translator = hy_mt2.open()
    page = translator.page
    open_options(translator)
    add_term(translator, "Hunyuan", "混元")
    add_term(translator, "GPU", "显卡")
    add_term(translator, "typo", "x")
    page.get_by_label("Translation of term 2").fill("图形处理器")  # edited in place
    page.get_by_role("button", name="Remove term 3").click()
    assert glossary_rows(translator) == [("Hunyuan", "混元"), ("GPU", "图形处理器")]

    with page.expect_download() as download:
        page.get_by_role("button", name="Export TSV").click()
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    assert exported.name == "glossary.tsv"
    assert exported.read_text(encoding="utf-8") == "Hunyuan\t混元\nGPU\t图形处理器\n"

    for _ in range(2):
        page.get_by_role("button", name="Remove term 1").click()
    assert glossary_rows(translator) == []
    import_file(translator, exported)
    expect(page.locator("#glossary-message")).to_have_text("Imported 2 term pairs from glossary.tsv: 2 new, 0 changed.")
    assert glossary_rows(translator) == [("Hunyuan", "混元"), ("GPU", "图形处理器")]

    translator.open()  # another visit in this browser: the glossary is still there
    open_options(translator)
    assert glossary_rows(translator) == [("Hunyuan", "混元"), ("GPU", "图形处理器")]
    expect(page.locator("#options-used")).to_have_text("· in use: the glossary")
    translator.choose("source", "English", "en")
    translator.translate("Hunyuan runs on a GPU.")  # the default target: Chinese
    expect(translator.error).to_be_hidden()
    screenshot(page, "glossary-translated")
    translator.translate("Hunyuan is fast.")
    # Hy-MT2's Chinese glossary template, a line a pair; only the pairs whose term occurs in the text go with it.
    assert [sent["messages"] for sent in fake.chat_requests()] == [
        [
            {
                "role": "user",
                "content": "参考下面的翻译：\nHunyuan 翻译成 混元\nGPU 翻译成 图形处理器\n"
                "将以下文本翻译为中文，注意只需要输出翻译后的结果，不要额外解释：\n\nHunyuan runs on a GPU.",
            }
        ],
        [
            {
                "role": "user",
                "content": "参考下面的翻译：\nHunyuan 翻译成 混元\n"
                "将以下文本翻译为中文，注意只需要输出翻译后的结果，不要额外解释：\n\nHunyuan is fast.",
            }
        ],
    ]
    # Unchecked, the glossary stays but goes with no translation.
    page.get_by_label("Use the glossary").uncheck()
    translator.translate("Hunyuan is fast!")
    assert "混元" not in fake.chat_requests()[-1]["messages"][0]["content"]
    assert len(glossary_rows(translator)) == 2


def test_a_bad_tsv_file_is_refused_naming_the_line_and_nothing_is_lost(hy_mt2, tmp_path):
    translator = hy_mt2.open()
    page = translator.page
    open_options(translator)
    add_term(translator, "Hunyuan", "混元")
    bad = tmp_path / "terms.tsv"
    bad.write_text("GPU\t显卡\n\nmodel weights 模型权重\nCPU\t处理器\n", encoding="utf-8")
    import_file(translator, bad)
    expect(page.locator("#glossary-message")).to_have_text(
        "terms.tsv, line 3: expected a term, one tab and its translation, found 1 columns. Nothing was imported: "
        "fix the line and import again."
    )
    assert glossary_rows(translator) == [("Hunyuan", "混元")]
    screenshot(page, "glossary-bad-import")
    # Fixed, the same file imports; a term already here takes the file's translation, and the message says so.
    bad.write_text("GPU\t显卡\nHunyuan\t腾讯混元\n", encoding="utf-8")
    import_file(translator, bad)
    expect(page.locator("#glossary-message")).to_have_text("Imported 2 term pairs from terms.tsv: 1 new, 1 changed.")
    assert glossary_rows(translator) == [("Hunyuan", "腾讯混元"), ("GPU", "显卡")]


def test_a_context_reaches_the_model_and_two_options_at_once_are_not_sent(hy_mt2, fake):
    translator = hy_mt2.open()
    page = translator.page
    open_options(translator)
    translator.choose("source", "English", "en")
    translator.choose("target", "Chinese", "zh")
    page.get_by_label("Context").fill("A weather report.")
    translator.translate("It is cold.")
    expect(translator.error).to_be_hidden()
    [sent] = fake.chat_requests()
    assert sent["messages"][0]["content"] == (
        "【背景信息】\nA weather report.\n\n请结合背景信息将以下文本翻译为中文。\n\n【待翻译文本】\nIt is cold."
    )
    # The model's prompts take one option a translation: a glossary term in the text as well is refused here.
    add_term(translator, "cold", "冷")
    translator.translate("It is cold.")
    expect(translator.error).to_have_text(
        "The model takes one option per translation, and a context and the glossary are set. Clear all but one (or "
        "uncheck “Use the glossary”)."
    )
    assert len(fake.chat_requests()) == 1


def test_options_the_models_family_has_no_prompt_for_are_disabled_with_the_reason(browser, request, fake):
    """HY-MT1.5 has glossary and context templates, not style or format; Hunyuan-MT-7B has none."""
    context = browser.new_context(locale="en-US")
    fake.behaviour.model = "HY-MT1.5-7B"
    try:
        with gateway_of(fake, "HY-MT1.5-7B") as url:
            for translator in open_translator(request, context, url):
                page = translator.page
                translator.open()
                open_options(translator)
                for control in ("#style", "#format"):
                    expect(page.locator(control)).to_be_disabled()
                for control in ("#context", "#glossary-use"):
                    expect(page.locator(control)).to_be_enabled()
                expect(page.locator("#style-reason")).to_have_text(
                    "Not with this model: the hy-mt1.5 prompts have no template for it (models of hy-mt2 have one)."
                )
                screenshot(page, "options-hy-mt15")
    finally:
        context.close()


def test_a_model_without_options_gets_plain_translations_even_with_a_glossary_kept(translator, fake):
    translator.open()  # the package's deployment serves Hunyuan-MT-7B
    page = translator.page
    open_options(translator)
    expect(page.locator("#options-used")).to_have_text("· plain translation only with this model")
    for control in ("#style", "#format", "#context", "#glossary-use"):
        expect(page.locator(control)).to_be_disabled()
    expect(page.locator("#context-reason")).to_have_text(
        "Not with this model: the hunyuan-mt prompts have no template for it (models of hy-mt1.5, hy-mt2 have one)."
    )
    add_term(translator, "Hunyuan", "混元")  # kept for a model that has the template, never sent to this one
    translator.choose("source", "English", "en")
    translator.translate("Hunyuan is fast.")
    expect(translator.error).to_be_hidden()
    [sent] = fake.chat_requests()
    assert "混元" not in sent["messages"][0]["content"]


@pytest.mark.parametrize(
    ("text", "target", "switched", "notice"),
    [
        (
            "你好，世界。今天天气很好。",
            "zh",
            "en",
            "The text is in Chinese, the target language too, so the target is now English.",
        ),
        (
            "Le chat est sur la table.",
            "fr",
            "zh",
            "The text is in French, the target language too, so the target is now Chinese.",
        ),
    ],
)
def test_text_in_the_target_language_switches_the_target_and_says_so(translator, fake, text, target, switched, notice):
    translator.open()
    if target != "zh":  # the default target of an English browser is Chinese
        translator.choose("target", "French", target)
    sent_targets = translation_targets(translator.page)
    translator.translate(text)
    expect(translator.page.locator("#target-picker")).to_have_attribute("data-value", switched)
    expect(translator.page.locator("#notice")).to_have_text(notice)
    expect(translator.page.locator("#notice")).to_be_visible()
    expect(translator.error).to_be_hidden()
    expect(translator.output).not_to_be_empty()
    screenshot(translator.page, f"same-language-{target}")
    assert sent_targets == [switched]  # the page asked for detection first: no same-language request was sent
    [sent] = fake.chat_requests()
    assert sent["messages"][0]["content"].endswith(text)
    # The next translation, in another language, clears the notice.
    translator.translate("Guten Morgen, wie geht es dir?")
    expect(translator.page.locator("#notice")).to_be_hidden()


def test_when_detection_fails_the_gateway_refusal_still_switches_the_target(translator, fake):
    translator.open()
    translator.page.route("**/api/detect", lambda route: route.fulfill(status=500, body="detector down"))
    sent_targets = translation_targets(translator.page)
    translator.translate("你好，世界。今天天气很好。")
    expect(translator.page.locator("#target-picker")).to_have_attribute("data-value", "en")
    expect(translator.page.locator("#notice")).to_be_visible()
    expect(translator.error).to_be_hidden()
    expect(translator.output).not_to_be_empty()
    assert sent_targets == ["zh", "en"]  # the gateway refused the first (422 same_language); the model saw one
    assert len(fake.chat_requests()) == 1


def test_stop_while_the_language_is_detected_ends_the_translation(translator, fake):
    translator.open()
    held = []
    translator.page.route("**/api/detect", lambda route: held.append(route))  # detection never answers
    sent_targets = translation_targets(translator.page)
    translator.translate("你好，世界。今天天气很好。", wait=False)
    expect(translator.stop_button).to_be_visible()
    expect(translator.output).to_have_attribute("aria-busy", "true")
    translator.stop_button.click()
    translator.wait_until_done()
    assert len(held) == 1
    # The page stays as it was: no switch, no translation sent, no error, and it translates again at once.
    expect(translator.page.locator("#target-picker")).to_have_attribute("data-value", "zh")
    expect(translator.error).to_be_hidden()
    translator.page.unroute("**/api/detect")
    translator.translate("Good morning")
    expect(translator.output).not_to_be_empty()
    assert sent_targets == ["zh"]
    assert len(fake.chat_requests()) == 1


def translation_targets(page) -> list[str]:
    """The target of every translation request the page sends from now on (filled in as they are sent)."""
    targets: list[str] = []

    def record(request) -> None:
        if request.url.endswith("/api/translate/stream"):
            targets.append(request.post_data_json["target"])

    page.on("request", record)
    return targets


def test_warnings_of_the_answer_are_shown_next_to_the_translation(hy_mt2, fake):
    translator = hy_mt2.open()
    page = translator.page
    warnings = page.locator("#warnings")
    translator.choose("source", "English", "en")
    translator.choose("target", "French", "fr")
    translator.translate("Hello %s")
    expect(translator.output).to_contain_text("Hello %s")
    expect(warnings).to_be_hidden()
    fake.behaviour.reply = lambda prompt: "Bonjour"  # the placeholder is lost
    translator.translate("Hello %s, welcome")
    expect(warnings).to_be_visible()
    expect(page.locator("#warnings-list li")).to_have_text(
        ["the placeholder %s appears once in the source but 0 times in the translation"]
    )
    expect(warnings).to_contain_text("Check the translation")
    expect(translator.status).to_have_text(
        "Translation done. Check the translation: it did not keep everything of the text."
    )
    screenshot(page, "warnings")
    # With a format, the page sends it and shows the structure's warnings too.
    open_options(translator)
    page.get_by_label("Format").select_option("json")
    fake.behaviour.reply = lambda prompt: '{"salut": "Bonjour"}'
    with page.expect_request("**/api/translate/stream") as sent:
        translator.translate('{"greeting": "Hello {name}"}')
    assert sent.value.post_data_json["format"] == "json"
    expect(page.locator("#warnings-list li")).to_have_count(2)
    expect(page.locator("#warnings-list li").nth(1)).to_have_text(
        "the keys of $ changed: lost ['greeting'], gained ['salut']"
    )
