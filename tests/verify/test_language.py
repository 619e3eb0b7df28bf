"""Judging answers without a reference: copies of the source and answers in another language are caught; the correct
translations written for these tests pass."""

from __future__ import annotations

import pytest

from hymt.verify.language import PAIRS, SAMPLES, copied_share, copy_verdict, language_verdict
from tests.verify.fakes import TRANSLATIONS


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_correct_translation_is_neither_a_copy_nor_in_another_language(source, target):
    answer = TRANSLATIONS[(source, target)]
    assert copy_verdict(SAMPLES[source], answer) == ""
    assert language_verdict(answer, target) == ""


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_the_source_itself_and_small_changes_of_it_are_copies(source):
    text = SAMPLES[source]
    assert copy_verdict(text, text) == "the answer repeats the source text"
    assert copy_verdict(text, text.upper() + "  ") == "the answer repeats the source text"
    assert "copies" in copy_verdict(text, "Translation: " + text)
    assert copied_share(text, text[: len(text) // 2] + " und so weiter") >= 0.5


def test_a_translation_keeping_a_name_of_the_source_is_not_a_copy():
    assert copy_verdict("Alice lives in Paris with Bob.", "Alice 和 Bob 住在 Paris。") == ""


@pytest.mark.parametrize(
    ("answer", "target", "said"),
    [
        ("Сегодня прекрасная погода.", "zh", "only 0% of the letters are han"),
        ("今日はとても良い天気です。", "zh", "kana"),
        ("今天天气很好。", "ja", "only 0% of the letters are kana"),
        ("Сьогодні чудова погода, ходімо гуляти в парк.", "ru", "reads as Ukrainian"),
        ("امروز هوا خیلی خوب است، بیایید با هم به پارک برویم.", "ar", "reads as Persian"),
        ("आज हवामान खूप छान आहे, चला आपण बागेत फिरायला जाऊ.", "hi", "reads as Marathi"),
        ("Le temps est magnifique aujourd'hui, allons nous promener dans le parc.", "en", "reads as French"),
        ("qorv zunt kli wemb trq axo lumbr pth", "en", "none of English's frequent words"),
        ("今天天气很好，我们一起去公园散步吧。", "bo", "only 0% of the letters are tibetan"),
        ("", "en", "no letters"),
    ],
)
def test_an_answer_in_another_language_or_script_is_caught(answer, target, said):
    assert said in language_verdict(answer, target)
