"""Source detection: good enough to pick the prompt template and to tell the user its guess; honest when unsure."""

from __future__ import annotations

import unicodedata

import pytest

from hymt.core.detect import detect_language
from hymt.core.prompts import resolve_source


# -- CJK: kana before Hangul before Han --------------------------------------------------------------------------------
def test_kana_makes_japanese_even_among_kanji():
    assert detect_language("今日は良い天気ですね。散歩に行きましょう。") == "ja"
    assert detect_language("カタカナだけ") == "ja"
    assert detect_language("ｶﾀｶﾅ") == "ja"  # half-width katakana


def test_hangul_makes_korean_even_with_hanja():
    assert detect_language("오늘 날씨가 좋네요") == "ko"
    assert detect_language("大韓民國 만세") == "ko"


def test_han_alone_is_chinese():
    assert detect_language("今天天气很好，我们去公园散步吧。") == "zh"
    assert detect_language("東京") == "zh"  # no kana: nothing says Japanese


def test_traditional_characters_make_traditional_chinese():
    assert detect_language("今天天氣很好，我們這個週末去公園散步吧。") == "zh-Hant"


def test_simplified_characters_win_when_they_are_more():
    assert detect_language("这个问题们说时间") == "zh"


def test_cantonese_particles_make_cantonese():
    assert detect_language("今日天氣好好，我哋去公園行下啦。") == "yue"
    assert detect_language("佢唔喺度") == "yue"


def test_chinese_with_latin_terms_stays_chinese():
    assert detect_language("我爱Python编程") == "zh"
    assert detect_language("在Kubernetes上部署vLLM和Hunyuan-MT") == "zh"


def test_a_chinese_name_in_an_english_sentence_does_not_make_it_chinese():
    assert detect_language("I met Mr. 王 in Paris and we talked for hours about the weather.") == "en"


# -- scripts that belong to one language -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("วันนี้อากาศดีมาก", "th"),
        ("ថ្ងៃនេះអាកាសធាតុល្អណាស់", "km"),
        ("ဒီနေ့ရာသီဥတုကောင်းတယ်", "my"),
        ("དེ་རིང་གནམ་གཤིས་ཡག་པོ་འདུག", "bo"),
        ("מזג האוויר יפה היום", "he"),
        ("আজ আবহাওয়া খুব ভালো", "bn"),
        ("આજે હવામાન ખૂબ સરસ છે", "gu"),
        ("இன்று வானிலை நன்றாக இருக்கிறது", "ta"),
        ("ఈ రోజు వాతావరణం చాలా బాగుంది", "te"),
        ("ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ", "mn"),  # traditional Mongolian script
    ],
)
def test_single_language_scripts(text, code):
    assert detect_language(text) == code


# -- scripts shared by several languages -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("أنا أحب القراءة في المساء مع فنجان من القهوة", "ar"),
        ("من به مدرسه می‌روم و کتاب می‌خوانم", "fa"),
        ("پاکستان ایک خوبصورت ملک ہے اور یہاں کے لوگ بھی بہت اچھے ہیں", "ur"),  # ھ is Urdu's too: not Uyghur
        ("مەن كىتاب ئوقۇشنى ياخشى كۆرىمەن", "ug"),
    ],
)
def test_arabic_script_languages(text, code):
    assert detect_language(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Привет, как дела? Я читаю интересную книгу.", "ru"),
        ("Я люблю читати книги і писати листи", "uk"),
        ("Їжак їсть яблуко", "uk"),
        ("Қазақ тілі – мемлекеттік тіл.", "kk"),  # і is Kazakh too: not Ukrainian
        ("Өнөөдөр цаг агаар сайхан байна", "mn"),
    ],
)
def test_cyrillic_languages(text, code):
    assert detect_language(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("यह किताब मेरी है और वह तुम्हारी है।", "hi"),
        ("आज हवामान छान आहे आणि मला बागेत फिरायला जायचे आहे.", "mr"),
        ("नमस्ते", "auto"),  # shared by Hindi and Marathi: no way to tell
    ],
)
def test_devanagari_languages(text, code):
    assert detect_language(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The weather is nice today and I want to go for a walk in the park.", "en"),
        ("Le temps est beau aujourd'hui et je veux me promener dans le parc avec mes amis.", "fr"),
        ("El tiempo es bueno hoy y quiero dar un paseo por el parque con mis amigos.", "es"),
        ("O tempo está bom hoje e eu quero passear no parque com os meus amigos.", "pt"),
        ("Das Wetter ist heute schön und ich möchte mit meinen Freunden im Park spazieren gehen.", "de"),
        ("Il tempo è bello oggi e voglio fare una passeggiata nel parco con gli amici.", "it"),
        ("Het weer is vandaag mooi en ik wil met mijn vrienden in het park wandelen.", "nl"),
        ("Pogoda jest dziś ładna i chcę iść na spacer do parku z przyjaciółmi.", "pl"),
        ("Počasí je dnes hezké a chci jít na procházku do parku s přáteli.", "cs"),
        ("Bugün hava çok güzel ve arkadaşlarımla parkta yürüyüş yapmak istiyorum.", "tr"),
        ("Hôm nay thời tiết đẹp và tôi muốn đi dạo trong công viên với bạn bè.", "vi"),
        ("Maganda ang panahon ngayon at gusto kong maglakad sa parke kasama ang mga kaibigan ko.", "tl"),
    ],
)
def test_latin_script_languages_with_clear_evidence(text, code):
    assert detect_language(text) == code


def test_decomposed_accents_count_like_composed_ones():
    text = "Počasí je dnes hezké a chci jít na procházku do parku s přáteli."
    assert detect_language(unicodedata.normalize("NFD", text)) == "cs"


# -- unsure is "auto" --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t",
        "12345 !!! 3.14",
        "OK",
        "Kubernetes vLLM",
        "Saya suka makan nasi dan ikan di rumah.",  # Malay or Indonesian: they share these words
        "Γειά σου κόσμε",  # Greek: not a language Hunyuan-MT translates
    ],
)
def test_unsure_is_auto(text):
    assert detect_language(text) == "auto"


def test_resolve_source_keeps_a_given_code_and_detects_auto():
    assert resolve_source("今天天气很好", "JA") == "ja"
    assert resolve_source("今天天气很好", "auto") == "zh"
    assert resolve_source("OK") == "auto"
