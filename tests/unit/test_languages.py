"""The language table is what Tencent's model card says: 38 codes, the exact names the prompts need, RTL where due."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hymt.core.languages import (
    AUTO,
    BY_CODE,
    CHINESE_CODES,
    LANGUAGES,
    UnknownLanguageError,
    get_language,
    normalize_code,
)
from hymt.core.scripts import script_share

# The language list of the team's Hunyuan-MT fact sheet (shared/HUNYUAN_MT.md, collected from Tencent's model cards),
# verbatim. The fact sheet is not part of a clone, so the text lives here; when the sheet is next to the checkout,
# test_copy_matches_the_fact_sheet keeps the two equal.
FACT_SHEET_LANGUAGES = """\
zh Chinese 中文 · en English 英语 · fr French 法语 · pt Portuguese 葡萄牙语 · es Spanish 西班牙语 · ja Japanese 日语 ·
tr Turkish 土耳其语 · ru Russian 俄语 · ar Arabic 阿拉伯语 · ko Korean 韩语 · th Thai 泰语 · it Italian 意大利语 ·
de German 德语 · vi Vietnamese 越南语 · ms Malay 马来语 · id Indonesian 印尼语 · tl Filipino 菲律宾语 · hi Hindi 印地语 ·
zh-Hant Traditional Chinese 繁体中文 · pl Polish 波兰语 · cs Czech 捷克语 · nl Dutch 荷兰语 · km Khmer 高棉语 ·
my Burmese 缅甸语 · fa Persian 波斯语 · gu Gujarati 古吉拉特语 · ur Urdu 乌尔都语 · te Telugu 泰卢固语 · mr Marathi 马拉地语 ·
he Hebrew 希伯来语 · bn Bengali 孟加拉语 · ta Tamil 泰米尔语 · uk Ukrainian 乌克兰语 ·
bo Tibetan 藏语 · kk Kazakh 哈萨克语 · mn Mongolian 蒙古语 · ug Uyghur 维吾尔语 · yue Cantonese 粤语
(38 codes. ar, fa, ur, he and ug are written right to left.)"""  # noqa: E501 - verbatim
FACT_SHEET = Path(__file__).resolve().parents[3] / "shared" / "HUNYUAN_MT.md"

_ENTRY = re.compile(r"(?P<code>[a-z]{2,3}(?:-[A-Z][a-z]+)?) (?P<en>[A-Z][A-Za-z ]*?) (?P<zh>[\u4e00-\u9fff]+)")


def fact_sheet_entries(text: str) -> list[tuple[str, str, str]]:
    entries = []
    for item in re.split(r"\s*·\s*|\n", text):
        match = _ENTRY.fullmatch(item.strip())
        if match:
            entries.append((match["code"], match["en"], match["zh"]))
    return entries


def fact_sheet_rtl(text: str) -> set[str]:
    match = re.search(r"\(\d+ codes\. (?P<codes>[a-z, ]+?) are written right to left\.\)", text)
    assert match, "the RTL sentence of the fact sheet was not found"
    return set(re.split(r",\s*|\s+and\s+", match["codes"]))


def test_copy_matches_the_fact_sheet():
    if FACT_SHEET.exists():  # only next to the team's checkout; the comparison below runs everywhere
        assert FACT_SHEET_LANGUAGES in FACT_SHEET.read_text(encoding="utf-8")
    assert len(fact_sheet_entries(FACT_SHEET_LANGUAGES)) == 38


def test_codes_and_names_are_those_of_the_fact_sheet_in_order():
    table = [(lang.code, lang.name_en, lang.name_zh) for lang in LANGUAGES]
    assert table == fact_sheet_entries(FACT_SHEET_LANGUAGES)


def test_there_are_38_distinct_codes():
    codes = [lang.code for lang in LANGUAGES]
    assert len(codes) == 38
    assert len(set(codes)) == 38
    assert len({code.lower() for code in codes}) == 38  # lookups fold case: no two codes may collide
    assert set(BY_CODE) == set(codes)


def test_right_to_left_languages_are_exactly_arabic_persian_urdu_hebrew_and_uyghur():
    rtl = {lang.code for lang in LANGUAGES if lang.rtl}
    assert rtl == {"ar", "fa", "ur", "he", "ug"}
    assert rtl == fact_sheet_rtl(FACT_SHEET_LANGUAGES)


def test_chinese_codes_choose_the_chinese_template():
    assert frozenset({"zh", "zh-Hant", "yue"}) == CHINESE_CODES


@pytest.mark.parametrize("lang", LANGUAGES, ids=lambda lang: lang.code)
def test_native_name_is_written_in_the_languages_own_script(lang):
    # Japanese is written with kana and kanji; its own name, 日本語, happens to be all kanji.
    script = "han" if lang.code == "ja" else lang.script
    assert lang.native.strip()
    assert script_share(lang.native, script) == 1.0, lang.native


@pytest.mark.parametrize(
    ("typed", "code"),
    [("EN", "en"), ("zh-hant", "zh-Hant"), ("ZH_HANT", "zh-Hant"), (" Yue ", "yue"), ("zh", "zh"), ("Ug", "ug")],
)
def test_codes_are_looked_up_case_insensitively(typed, code):
    assert get_language(typed).code == code
    assert normalize_code(typed) == code


def test_auto_is_a_source_only():
    assert normalize_code("AUTO", allow_auto=True) == AUTO
    with pytest.raises(UnknownLanguageError):
        normalize_code("auto")


@pytest.mark.parametrize("code", ["xx", "english", "zh-Hans", "", "pt-BR"])
def test_unknown_code_says_how_to_list_the_codes(code):
    with pytest.raises(UnknownLanguageError) as caught:
        get_language(code)
    assert caught.value.code == code
    assert str(caught.value) == f"unknown language code {code!r}; run 'hymt languages' for the 38 supported codes"


def test_as_dict_carries_every_field():
    assert get_language("ar").as_dict() == {
        "code": "ar",
        "name_en": "Arabic",
        "name_zh": "阿拉伯语",
        "native": "العربية",
        "script": "arabic",
        "rtl": True,
    }
