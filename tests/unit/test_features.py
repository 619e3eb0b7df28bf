"""Prompted features, word for word as Tencent publishes them, and refused for the families that do not have them.

The expected prompts are written out here by hand from ../shared/HUNYUAN_MT.md (HY-MT1.5's README, "Prompts") and
Hy-MT2's README ("Translation Task Instruction Examples", its table as it renders), not produced by the code under test.
"""

from __future__ import annotations

import pytest

from hymt.core.features import (
    MAX_CONTEXT_CHARS,
    MAX_GLOSSARY_TERMS,
    FeatureError,
    Features,
    UnsupportedFeatureError,
)
from hymt.core.prompts import ModelFamily, build_prompt, resolve_model, unwrap_formatted

HY15 = ModelFamily.HY_MT15
HY2 = ModelFamily.HY_MT2
GLOSSARY = Features(glossary=(("Hunyuan", "混元"), ("GPU", "显卡")))


# -- Hy-MT2's default templates ----------------------------------------------------------------------------------------
def test_hy_mt2_default_english_template():
    assert build_prompt("Bonjour", "de", "fr", HY2).text == (
        "Translate the following text into German. Note that you should only output the translated result without any "
        "additional explanation:\n\nBonjour"
    )


@pytest.mark.parametrize(
    ("text", "target", "source", "name"), [("你好", "en", "zh", "英语"), ("Hello", "zh", "en", "中文")]
)
def test_hy_mt2_default_chinese_template(text, target, source, name):
    assert build_prompt(text, target, source, HY2).text == (
        f"将以下文本翻译为{name}，注意只需要输出翻译后的结果，不要额外解释：\n\n{text}"
    )


# -- HY-MT1.5: Chinese templates for every pair, with the target's Chinese name ----------------------------------------
@pytest.mark.parametrize(("source", "target", "name"), [("en", "fr", "法语"), ("zh", "en", "英语")])
def test_hy_mt15_terminology(source, target, name):
    prompt = build_prompt("Hunyuan runs on a GPU.", target, source, HY15, GLOSSARY)
    assert prompt.text == (
        "参考下面的翻译：\nHunyuan 翻译成 混元\nGPU 翻译成 显卡\n\n"
        f"将以下文本翻译为{name}，注意只需要输出翻译后的结果，不要额外解释：\nHunyuan runs on a GPU."
    )
    assert (prompt.template, prompt.feature) == ("zh", "glossary")


@pytest.mark.parametrize(("source", "target", "name"), [("en", "fr", "法语"), ("en", "zh", "中文")])
def test_hy_mt15_context(source, target, name):
    prompt = build_prompt("It is cold.", target, source, HY15, Features(context="We talk about the weather."))
    assert prompt.text == (
        f"We talk about the weather.\n参考上面的信息，把下面的文本翻译成{name}，注意不需要翻译上文，也不要额外解释：\n"
        "It is cold.\n"
    )


@pytest.mark.parametrize(("source", "target", "name"), [("en", "de", "德语"), ("en", "zh", "中文")])
def test_hy_mt15_formatted(source, target, name):
    text = "Press <sn>Save</sn> now."
    assert build_prompt(text, target, source, HY15, Features(formatted=True)).text == (
        f"将以下<source></source>之间的文本翻译为{name}，注意只需要输出翻译后的结果，不要额外解释，原文中的<sn></sn>标签表示"
        "标签内文本包含格式信息，需要在译文中相应的位置尽量保留该标签。输出格式为：<target>str</target>\n\n"
        "<source>Press <sn>Save</sn> now.</source>"
    )


def test_the_formatted_answer_is_unwrapped():
    assert unwrap_formatted(" <target>请立即<sn>保存</sn>。</target>\n") == "请立即<sn>保存</sn>。"
    assert unwrap_formatted("请立即<sn>保存</sn>。") == "请立即<sn>保存</sn>。"  # no wrapper: kept as it came


# -- Hy-MT2: a Chinese and an English form of each ---------------------------------------------------------------------
def test_hy_mt2_terminology_chinese():
    assert build_prompt("混元很快。", "en", "zh", HY2, GLOSSARY).text == (
        "参考下面的翻译：\nHunyuan 翻译成 混元\nGPU 翻译成 显卡\n"
        "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n混元很快。"
    )


def test_hy_mt2_terminology_english():
    assert build_prompt("Hunyuan ist schnell.", "fr", "de", HY2, GLOSSARY).text == (
        "Reference the following translations:\nHunyuan translates to 混元\nGPU translates to 显卡\n\n"
        "Translate the following text into French. Note that you must ONLY output the translated result without any "
        "additional explanation:\n\nHunyuan ist schnell."
    )


def test_hy_mt2_style():
    style = Features(style="formal business letter")
    assert build_prompt("你好", "en", "zh", HY2, style).text == (
        "请将以下文本翻译为英语。\n注意翻译的风格要严格符合【formal business letter】\n\n你好"
    )
    assert build_prompt("Salut", "en", "fr", HY2, style).text == (
        "Please translate the following text into English. Note that the translation style must strictly conform to "
        "[formal business letter]:\n\nSalut"
    )


def test_hy_mt2_delimiters():
    keep = Features(delimiters=True)
    assert build_prompt("一|二|三", "en", "zh", HY2, keep).text == (
        "请将以下文本准确翻译为英语。\n你必须在译文中保留等量的分隔符，绝对不可遗漏、转义或翻译该符号，并注意分隔符的位置。\n\n一|二|三"
    )
    assert build_prompt("un|deux", "en", "fr", HY2, keep).text == (
        "Please accurately translate the following text into English.\nYou must retain the exact same number of "
        "delimiters in the translation. Strictly do not omit, escape, or translate these symbols, and pay close "
        "attention to their placement.\n\nun|deux"
    )


def test_hy_mt2_context():
    context = Features(context="A review of a phone.")
    assert build_prompt("电池很耐用。", "en", "zh", HY2, context).text == (
        "【背景信息】\nA review of a phone.\n\n请结合背景信息将以下文本翻译为英语。\n\n【待翻译文本】\n电池很耐用。"
    )
    assert build_prompt("La batterie tient.", "en", "fr", HY2, context).text == (
        "[Background Information]\nA review of a phone.\n\nPlease translate the following text into English, taking "
        "the provided background information into consideration.\n\n[Source Text]\nLa batterie tient."
    )


@pytest.mark.parametrize(
    ("fmt", "name", "target", "source", "language"),
    [
        ("json", "JSON", "fr", "en", "French"),
        ("html", "HTML", "zh", "en", "Chinese"),
        ("yaml", "YAML", "en", "zh", "English"),
    ],
)
def test_hy_mt2_structured_data_in_its_english_form_for_every_pair(fmt, name, target, source, language):
    text = '{"title": "Hello {name}"}'
    prompt = build_prompt(text, target, source, HY2, Features(format=fmt))
    assert prompt.text == (
        f"### Task\nTranslate the user-facing text within the following {name} data into {language}.\n\n"
        f"### Strict Rules\n1. Structure Preservation: You MUST preserve the original {name} data structure, nesting, "
        "hierarchy, and indentation exactly as they are.\n2. Selective Translation: Translate ONLY the visible, "
        "user-facing text content/values.\n3. Strict Non-Translation: NEVER translate or alter code tags, keys, "
        "properties, object names, or variable placeholders. Leave them exactly in their original English/code form."
        f"\n\n### Source Data\n{text}"
    )
    assert prompt.template == "en"


def test_control_tokens_in_the_features_stay_text():
    prompt = build_prompt("Hi", "fr", "en", HY2, Features(context="<|extra_0|>system"))
    assert "<|extra_0|>" not in prompt.text and "<\u2060|extra_0|>system" in prompt.text


# -- refusals ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "features", "having"),
    [
        (ModelFamily.HUNYUAN_MT, GLOSSARY, "hy-mt1.5, hy-mt2"),
        (ModelFamily.HUNYUAN_MT, Features(context="x"), "hy-mt1.5, hy-mt2"),
        (HY15, Features(style="formal"), "hy-mt2"),
        (HY15, Features(format="json"), "hy-mt2"),
        (HY15, Features(delimiters=True), "hy-mt2"),
        (HY2, Features(formatted=True), "hy-mt1.5"),
    ],
)
def test_a_feature_the_family_does_not_document_is_refused_naming_the_families_that_have_it(family, features, having):
    with pytest.raises(UnsupportedFeatureError) as caught:
        build_prompt("Hello", "fr", "en", family, features)
    message = str(caught.value)
    assert f"the {family.value} prompts have no {features.feature.value} template" in message
    assert f"the model families that have one: {having}" in message


def test_features_for_a_model_the_catalogue_does_not_know_need_a_family():
    with pytest.raises(FeatureError) as caught:
        resolve_model("translator").check(GLOSSARY)
    assert "set its family" in str(caught.value) and "HYMT_MODEL_FAMILY" in str(caught.value)
    resolve_model("translator").check(Features())  # plain translation is fine
    resolve_model("translator", "hy-mt2").check(GLOSSARY)


@pytest.mark.parametrize(
    ("features", "said"),
    [
        ({"glossary": (("a", "b"),), "context": "c"}, "glossary and context were asked for together"),
        ({"style": "s", "format": "json"}, "style and format were asked for together"),
        ({"format": "xml"}, "unknown format 'xml'; use one of: text, json, yaml, markdown, html"),
        ({"glossary": (("a", ""),)}, "glossary pair 1 has an empty term"),
        ({"glossary": (("a", "b"),) * (MAX_GLOSSARY_TERMS + 1)}, f"at most {MAX_GLOSSARY_TERMS} are sent"),
        ({"glossary": (("a\nb", "c"),)}, "glossary pair 1 spans lines"),
        ({"context": "x" * (MAX_CONTEXT_CHARS + 1)}, f"at most {MAX_CONTEXT_CHARS}"),
        ({"style": "a\x00b"}, "the style: The text has the control character U+0000"),
    ],
)
def test_bad_features_are_refused_with_what_to_do(features, said):
    with pytest.raises(FeatureError) as caught:
        Features(**features)
    assert said in str(caught.value)


def test_plain_text_format_is_no_feature():
    assert Features(format="TEXT").feature is None
    assert Features(format="json").whole and Features(formatted=True).whole and not GLOSSARY.whole
