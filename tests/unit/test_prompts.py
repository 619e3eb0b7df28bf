"""Prompts exactly as Hunyuan-MT was trained on them, one user message, Tencent's sampling, a sane max_tokens."""

from __future__ import annotations

import pytest

from hymt.core.languages import LANGUAGES, UnknownLanguageError
from hymt.core.prompts import (
    MAX_TOKENS_CAP,
    MAX_TOKENS_FLOOR,
    SAMPLING,
    FamilyConflictError,
    ModelFamily,
    build_prompt,
    chat_request,
    estimate_tokens,
    max_tokens_for,
    resolve_model,
)

HUNYUAN = ModelFamily.HUNYUAN_MT
HY15 = ModelFamily.HY_MT15
ENGLISH_TEMPLATE = "Translate the following segment into {}, without additional explanation.\n\n{}"
CHINESE_TEMPLATE = {
    HUNYUAN: "把下面的文本翻译成{}，不要额外解释。\n\n{}",
    HY15: "将以下文本翻译为{}，注意只需要输出翻译后的结果，不要额外解释：\n\n{}",
}
NON_CHINESE = [lang for lang in LANGUAGES if lang.code not in {"zh", "zh-Hant", "yue"}]


# -- the two templates, exactly ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", [HUNYUAN, HY15])
def test_english_template_between_two_non_chinese_languages(family):
    prompt = build_prompt("Bonjour le monde", "en", "fr", family)
    assert prompt.text == (
        "Translate the following segment into English, without additional explanation.\n\nBonjour le monde"
    )
    assert prompt.template == "en"
    assert (prompt.source, prompt.target) == ("fr", "en")


def test_chinese_template_of_hunyuan_mt_into_chinese():
    prompt = build_prompt("Good morning", "zh", "en", HUNYUAN)
    assert prompt.text == "把下面的文本翻译成中文，不要额外解释。\n\nGood morning"
    assert prompt.template == "zh"


def test_chinese_template_of_hunyuan_mt_from_chinese_names_the_target_in_chinese():
    assert build_prompt("早上好", "en", "zh", HUNYUAN).text == "把下面的文本翻译成英语，不要额外解释。\n\n早上好"


def test_chinese_template_of_hy_mt15():
    prompt = build_prompt("早上好", "en", "zh", HY15)
    assert prompt.text == "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n早上好"
    assert build_prompt("Good morning", "zh-Hant", "en", HY15).text == (
        "将以下文本翻译为繁体中文，注意只需要输出翻译后的结果，不要额外解释：\n\nGood morning"
    )


@pytest.mark.parametrize(("source", "target"), [("yue", "en"), ("en", "yue"), ("zh-Hant", "ja"), ("ko", "zh-Hant")])
def test_any_chinese_variant_on_either_side_chooses_the_chinese_template(source, target):
    assert build_prompt("text", target, source).template == "zh"


def test_the_source_text_is_kept_verbatim_after_one_blank_line():
    text = "  line one\r\n\tline two\n\n"
    assert build_prompt(text, "de", "en").text.endswith("without additional explanation.\n\n" + text)


# -- every language's name ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", [HUNYUAN, HY15])
@pytest.mark.parametrize("lang", NON_CHINESE, ids=lambda lang: lang.code)
def test_every_non_chinese_target_is_named_in_english_between_non_chinese_languages(lang, family):
    source = "fr" if lang.code != "fr" else "de"
    prompt = build_prompt("Texte", lang.code, source, family)
    assert prompt.text == ENGLISH_TEMPLATE.format(lang.name_en, "Texte")


@pytest.mark.parametrize("family", [HUNYUAN, HY15])
@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang.code != "zh"], ids=lambda lang: lang.code)
def test_every_target_is_named_in_chinese_from_chinese(lang, family):
    prompt = build_prompt("你好", lang.code, "zh", family)
    assert prompt.text == CHINESE_TEMPLATE[family].format(lang.name_zh, "你好")


@pytest.mark.parametrize("family", [HUNYUAN, HY15])
@pytest.mark.parametrize("code", ["zh", "zh-Hant", "yue"])
def test_chinese_targets_are_named_in_chinese_from_any_language(code, family):
    lang = next(lang for lang in LANGUAGES if lang.code == code)
    assert build_prompt("Hello", code, "en", family).text == CHINESE_TEMPLATE[family].format(lang.name_zh, "Hello")


# -- the source: given, detected, or unknown ---------------------------------------------------------------------------
def test_auto_source_detects_chinese_and_picks_the_chinese_template():
    prompt = build_prompt("今天天气很好", "en")
    assert (prompt.source, prompt.template) == ("zh", "zh")


def test_japanese_with_kanji_is_not_taken_for_chinese():
    prompt = build_prompt("今日は良い天気です", "en")
    assert (prompt.source, prompt.template) == ("ja", "en")


def test_undetected_source_reports_auto_and_follows_the_target():
    assert build_prompt("OK", "fr").source == "auto"
    assert build_prompt("OK", "fr").template == "en"
    assert build_prompt("OK", "zh").template == "zh"


def test_a_given_source_wins_over_detection():
    assert build_prompt("今天天气很好", "en", "ja").template == "en"


def test_codes_are_canonicalised():
    prompt = build_prompt("Hello", "ZH_hant", "EN")
    assert (prompt.source, prompt.target) == ("en", "zh-Hant")


@pytest.mark.parametrize(("target", "source"), [("xx", "en"), ("en", "xx"), ("auto", "en")])
def test_unknown_codes_are_refused(target, source):
    with pytest.raises(UnknownLanguageError):
        build_prompt("Hello", target, source)


# -- the request -------------------------------------------------------------------------------------------------------
def test_one_user_message_and_no_system_message():
    prompt = build_prompt("Hallo Welt", "en", "de")
    assert prompt.messages() == [{"role": "user", "content": prompt.text}]


def test_chat_request_sends_tencents_sampling_explicitly():
    text = "Hallo Welt"
    body = chat_request(build_prompt(text, "en", "de"), "Hunyuan-MT-7B", source_text=text)
    assert body == {
        "model": "Hunyuan-MT-7B",
        "messages": [{"role": "user", "content": ENGLISH_TEMPLATE.format("English", text)}],
        "max_tokens": max_tokens_for(text),
        "stream": False,
        "temperature": 0.7,
        "top_p": 0.6,
        "top_k": 20,
        "repetition_penalty": 1.05,
    }
    assert not any(m["role"] == "system" for m in body["messages"])


def test_chat_request_can_stream_and_cap():
    text = "word " * 5000
    body = chat_request(build_prompt(text, "en", "de"), "m", source_text=text, stream=True, max_tokens_cap=500)
    assert body["stream"] is True
    assert body["max_tokens"] == 500


def test_sampling_values_are_tencents():
    assert SAMPLING.as_params() == {"temperature": 0.7, "top_p": 0.6, "top_k": 20, "repetition_penalty": 1.05}


# -- max_tokens --------------------------------------------------------------------------------------------------------
def test_max_tokens_has_a_floor_for_short_texts():
    assert max_tokens_for("Hi") == MAX_TOKENS_FLOOR == 64


def test_max_tokens_scales_with_the_input():
    latin = "a" * 300  # 100 estimated tokens
    chinese = "字" * 100  # 100 estimated tokens
    assert max_tokens_for(latin) == max_tokens_for(chinese) == 2 * 100 + 32
    assert max_tokens_for("a" * 600) > max_tokens_for(latin)


def test_max_tokens_is_capped():
    assert max_tokens_for("字" * 5000) == MAX_TOKENS_CAP == 2048
    assert max_tokens_for("字" * 5000, cap=700) == 700


def test_a_cap_below_the_floor_still_wins():
    assert max_tokens_for("Hi", cap=16) == 16


# -- the token estimate behind chunking and max_tokens -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abc", 1),
        ("abcd", 2),  # rounded up: cautious
        ("你好世界", 4),
        ("日本語です", 5),
        ("한국어", 3),
        ("नमस्ते", 6),  # Brahmic letters and signs: a token each
        ("ภาษาไทย", 7),
        ("привет", 3),  # Cyrillic: half a token a letter
        ("مرحبا", 3),
        ("Grüße", 2),
    ],
)
def test_token_estimate_is_cautious_per_script(text, tokens):
    assert estimate_tokens(text) == tokens


# -- model families ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("Hunyuan-MT-7B", HUNYUAN),
        ("tencent/Hunyuan-MT-7B-fp8", HUNYUAN),
        ("Hunyuan-MT-Chimera-7B", HUNYUAN),  # a Chimera model translates by Hunyuan-MT's prompts
        ("tencent/HY-MT1.5-7B", HY15),
        ("HY-MT1.5-1.8B-FP8", HY15),
        ("Tencent-Hunyuan/Hunyuan-MT-7B-fp8", HUNYUAN),  # a ModelScope id
        ("Hy-MT2-7B", ModelFamily.HY_MT2),
        ("tencent/Hy-MT2-1.8B-FP8", ModelFamily.HY_MT2),
        ("hy-mt2-30b-a3b", ModelFamily.HY_MT2),
    ],
)
def test_the_family_of_a_catalogued_model_is_the_catalogues(model, family):
    profile = resolve_model(model)
    assert (profile.family, profile.source) == (family, "catalogue")


@pytest.mark.parametrize("model", ["translator", "hy_mt1.5-1.8b", "HY-MT-1.5-7B", "my-hy-mt2"])
def test_a_name_the_catalogue_does_not_know_gets_the_default_family_and_says_so(model):
    # No guessing from the name: a name that only looks like a family's is not taken for it.
    profile = resolve_model(model)
    assert (profile.family, profile.source, profile.sampling) == (HUNYUAN, "default", SAMPLING)


def test_a_set_family_applies_to_a_name_the_catalogue_does_not_know():
    profile = resolve_model("translator", "hy-mt2")
    assert (profile.family, profile.source, profile.sampling) == (ModelFamily.HY_MT2, "setting", SAMPLING)


def test_a_set_family_that_contradicts_the_catalogue_is_refused():
    assert resolve_model("Hy-MT2-7B", "hy-mt2").family is ModelFamily.HY_MT2  # agreeing is fine
    with pytest.raises(FamilyConflictError) as caught:
        resolve_model("Hy-MT2-7B", "hy-mt1.5")
    assert "tencent/Hy-MT2-7B, of the hy-mt2 family" in str(caught.value)
    assert "leave the family unset" in str(caught.value)


@pytest.mark.parametrize("model", ["Hy-MT2-30B-A3B", "tencent/Hy-MT2-30B-A3B-FP8"])
def test_hy_mt2_30b_a3b_gets_its_own_sampling(model):
    # Its README, "Inference and Deployment": temperature 0.7, top_p 1.0, top_k -1, repetition_penalty 1.0.
    sampling = resolve_model(model).sampling
    assert sampling.as_params() == {"temperature": 0.7, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0}
    prompt = build_prompt("Hallo", "en", "de", ModelFamily.HY_MT2)
    body = chat_request(prompt, model, source_text="Hallo", sampling=sampling)
    assert (body["top_p"], body["top_k"], body["repetition_penalty"]) == (1.0, -1, 1.0)


@pytest.mark.parametrize("model", ["Hy-MT2-7B", "Hy-MT2-1.8B-FP8", "HY-MT1.5-7B", "Hunyuan-MT-7B"])
def test_the_other_models_get_the_usual_sampling(model):
    assert resolve_model(model).sampling.as_params() == {
        "temperature": 0.7,
        "top_p": 0.6,
        "top_k": 20,
        "repetition_penalty": 1.05,
    }


def test_family_parses_its_names_and_refuses_others():
    assert ModelFamily.parse(" HY-MT1.5 ") is HY15
    assert ModelFamily.parse("hunyuan-mt") is HUNYUAN
    assert ModelFamily.parse("Hy-MT2") is ModelFamily.HY_MT2
    with pytest.raises(ValueError) as caught:
        ModelFamily.parse("gpt")
    assert str(caught.value) == "unknown model family 'gpt'; use one of: hunyuan-mt, hy-mt1.5, hy-mt2"
