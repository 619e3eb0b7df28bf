"""Long texts: every request within the token budget, and the answer laid out exactly like the source."""

from __future__ import annotations

import unicodedata

import pytest

from hymt.core.chunking import DEFAULT_BUDGET, TextPlan, split_text
from hymt.core.prompts import estimate_tokens

ENGLISH = (
    "The committee met on Tuesday. It discussed the budget, the schedule and the staffing plan! "
    'Several members asked questions. "Is this really necessary?" one of them said. The chair answered; '
    "the vote was postponed until next week… Everyone went home."
)
CHINESE = "今天天气很好。我们去公园散步吧！你觉得怎么样？公园里有很多人；孩子们在放风筝。" * 3
HINDI = "आज मौसम बहुत अच्छा है। हम पार्क में टहलने जाएंगे। क्या तुम भी आओगे? "
URDU = "پاکستان ایک خوبصورت ملک ہے۔ یہاں کے لوگ بہت اچھے ہیں۔ کیا آپ آئیں گے؟ "
SAMPLES = {
    "english": ENGLISH,
    "chinese-without-spaces": CHINESE,
    "cjk-no-punctuation": "字" * 500,
    "endless-latin": "x" * 3000,
    "endless-url": "https://example.org/" + "a1b2c3" * 300,
    "long-words": " ".join(["supercalifragilistic" * 5] * 20),
    "hindi": HINDI * 12,
    "hindi-no-spaces": "क्षत्रियों" * 200,  # conjuncts: letters, viramas and vowel signs
    "urdu": URDU * 10,
    "mixed-lines": "Title\n\n" + ENGLISH + "\r\n\t" + CHINESE + "\n  - item one\n  - item two\n",
}


def identity(plan: TextPlan) -> str:
    return plan.join(list(plan.segments))


def translated(plan: TextPlan) -> list[str]:
    return [f"<{i}>" for i in range(len(plan.segments))]


# -- the layout survives -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Hello",
        "  indented\n",
        "line one\nline two\n",
        "first\r\nsecond\r\n\r\nfourth",
        "old\rmac\rbreaks",
        "\n\n  \n",
        "\tTabbed\n    four spaces\n\u3000全角空格\n",
        "trailing spaces   \nnext",
    ],
)
def test_identity_round_trip_keeps_every_character(text):
    assert identity(split_text(text)) == text


@pytest.mark.parametrize("budget", [1, 3, 20, 200, DEFAULT_BUDGET])
@pytest.mark.parametrize("name", SAMPLES)
def test_round_trip_holds_when_lines_are_split(name, budget):
    assert identity(split_text(SAMPLES[name], budget)) == SAMPLES[name]


def test_the_lines_of_a_paragraph_share_a_segment_and_the_layout_around_them_stays():
    plan = split_text("  first line\r\n\r\n\tsecond line\nthird\n")
    assert plan.segments == ("first line", "second line\nthird")
    assert plan.join(["PREMIÈRE", "DEUXIÈME\nTROISIÈME"]) == "  PREMIÈRE\r\n\r\n\tDEUXIÈME\nTROISIÈME\n"


def test_many_short_lines_cost_a_few_requests_not_one_a_line():
    text = "a\n" * 2500  # the 5,000 characters that once made 2,500 upstream requests
    plan = split_text(text)
    assert len(plan.segments) == 2
    assert all(estimate_tokens(segment) <= DEFAULT_BUDGET for segment in plan.segments)
    assert sum(segment.count("\n") for segment in plan.segments) == 2500 - 2  # the breaks go inside the segments
    assert identity(plan) == text


def test_an_answer_is_checked_against_the_line_count_of_its_segment():
    plan = split_text("one line\n\ntwo\r\nlines\n")
    assert [plan.line_count(i) for i in range(2)] == [1, 2]
    assert plan.keeps_lines(0, "une ligne\net une autre")  # a one-line segment is never taken apart
    assert plan.keeps_lines(1, "  deux\nlignes\n")  # whitespace around the answer is dropped anyway
    assert not plan.keeps_lines(1, "deux lignes")
    assert not plan.keeps_lines(1, "deux\nlignes\nde plus")


def test_a_segment_planned_again_line_by_line_gives_it_back_exactly():
    text = "a\n  b\n\nc\r\nd"
    plan = split_text(text, across_paragraphs=True)
    assert plan.segments == ("a\n  b\n\nc\r\nd",)
    again = plan.line_by_line(0)
    assert again.segments == ("a", "b", "c", "d")
    assert identity(again) == text


def test_a_line_that_would_overflow_the_group_starts_the_next_one():
    line = "This is a sentence."  # 7 estimated tokens; two with their line break: 14
    plan = split_text("\n".join([line] * 5), 14)
    assert plan.segments == (f"{line}\n{line}", f"{line}\n{line}", line)
    assert plan.join(translated(plan)) == "<0>\n<1>\n<2>"


def test_paragraphs_stay_apart_unless_asked_to_share_segments():
    text = "a\n\n" * 100
    assert len(split_text(text).segments) == 100
    joined = split_text(text, across_paragraphs=True)
    assert joined.segments == ("a\n\n" * 99 + "a",)
    assert identity(joined) == text


def test_answers_lose_their_own_surrounding_spaces():
    plan = split_text("a\n\nb")
    assert plan.join(["  A \n", "\tB"]) == "A\n\nB"


def test_text_of_only_spaces_has_nothing_to_translate():
    plan = split_text(" \n\t\n")
    assert plan.segments == ()
    assert plan.join([]) == " \n\t\n"


def test_join_wants_one_answer_per_segment():
    plan = split_text("a\n\nb")
    with pytest.raises(ValueError, match="expected 2 translations, got 1"):
        plan.join(["A"])


def test_budget_must_be_positive():
    with pytest.raises(ValueError):
        split_text("text", 0)


# -- every request within the budget -----------------------------------------------------------------------------------
@pytest.mark.parametrize("budget", [1, 3, 20, 200, DEFAULT_BUDGET])
@pytest.mark.parametrize("name", SAMPLES)
def test_no_segment_exceeds_the_budget(name, budget):
    plan = split_text(SAMPLES[name], budget)
    assert plan.segments
    for segment in plan.segments:
        assert estimate_tokens(segment) <= budget, segment
        assert segment == segment.strip() and segment  # spaces at the edges stay in the layout, not in requests


@pytest.mark.parametrize("name", ["hindi-no-spaces", "hindi"])
def test_a_letter_is_never_cut_from_its_combining_marks(name):
    for segment in split_text(SAMPLES[name], 5).segments:
        assert not unicodedata.category(segment[0]).startswith("M"), segment


def test_splits_inside_a_sentence_keep_the_spaces_between_words():
    text = " ".join(["word"] * 60)  # no sentence end at all
    plan = split_text(text, 10)
    assert len(plan.segments) > 1
    assert plan.join([s.upper() for s in plan.segments]) == text.upper()


# -- sentences ---------------------------------------------------------------------------------------------------------
def test_a_line_within_the_budget_is_one_segment():
    assert split_text(ENGLISH).segments == (ENGLISH,)


def test_long_lines_split_between_sentences_and_keep_the_separators():
    text = "Hello world. This is fine.  Another one! And more?"
    plan = split_text(text, 5)
    assert plan.segments == ("Hello world.", "This is fine.", "Another one!", "And more?")
    assert plan.join(translated(plan)) == "<0> <1>  <2> <3>"


def test_short_sentences_are_grouped_up_to_the_budget():
    sentence = "This is a sentence."  # 7 estimated tokens; two with their space: 13
    text = " ".join([sentence] * 6)
    plan = split_text(text, 14)
    assert plan.segments == (f"{sentence} {sentence}",) * 3
    assert plan.join(translated(plan)) == "<0> <1> <2>"


def test_chinese_sentences_split_after_their_stops_without_spaces():
    plan = split_text("第一句。第二句！第三句？", 4)
    assert plan.segments == ("第一句。", "第二句！", "第三句？")
    assert plan.join(translated(plan)) == "<0><1><2>"


def test_a_full_width_space_after_a_chinese_stop_stays_in_the_layout():
    plan = split_text("第一句。\u3000第二句很长很长。", 9)
    assert plan.segments == ("第一句。", "第二句很长很长。")
    assert plan.join(translated(plan)) == "<0>\u3000<1>"


@pytest.mark.parametrize(("text", "stop"), [(HINDI * 12, "।"), (URDU * 10, "۔")])
def test_dandas_and_urdu_stops_end_sentences(text, stop):
    plan = split_text(text.strip(), 30)
    assert len(plan.segments) > 1
    assert all(segment.endswith((stop, "?", "؟")) for segment in plan.segments)


def test_quotes_after_a_stop_stay_with_their_sentence():
    plan = split_text('He said "Stop." Then he left.', 5)
    assert plan.segments == ('He said "Stop."', "Then he left.")
