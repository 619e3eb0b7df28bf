"""Sizing requests by the model's own tokenizer: where its file is, where it is not, and a damaged one."""

from __future__ import annotations

import pytest

from hymt.core.chunking import split_text
from hymt.core.prompts import estimate_tokens
from hymt.core.tokens import TokenizerError, load_counter
from tests.support.tokenizer import ENGLISH_PARAGRAPHS, rehearsal_tokenizer_dir


def test_without_a_directory_the_estimate_counts():
    counter = load_counter(None)
    assert counter.source == "estimate"
    assert counter.count("hello world") == estimate_tokens("hello world")


def test_a_directory_without_a_tokenizer_file_falls_back_to_the_estimate_and_says_why(tmp_path):
    counter = load_counter(tmp_path)
    assert counter.source == "estimate"
    assert str(tmp_path / "tokenizer.json") in counter.detail and "does not exist" in counter.detail


def test_the_models_tokenizer_counts_as_the_model_does(tmp_path):
    directory, tokenizer = rehearsal_tokenizer_dir(tmp_path)
    counter = load_counter(directory)
    assert counter.source == "tokenizer"
    text = "The committee met on Tuesday. 今天天气很好。"
    assert counter.count(text) == len(tokenizer.encode(text, add_special_tokens=False).ids)


def test_a_damaged_tokenizer_file_is_an_error_that_says_what_to_do(tmp_path):
    (tmp_path / "tokenizer.json").write_text('{"model": ', encoding="utf-8")
    with pytest.raises(TokenizerError) as caught:
        load_counter(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "tokenizer.json") in message and "hymt model fetch" in message


def test_with_the_tokenizer_every_request_fits_the_budget_as_the_model_counts(tmp_path):
    counter = load_counter(rehearsal_tokenizer_dir(tmp_path)[0])
    budget = 60
    by_estimate = split_text(ENGLISH_PARAGRAPHS, budget)
    # The rehearsal tokenizer counts English well above the estimate: planned by the estimate, requests overflow.
    assert max(counter.count(s) for s in by_estimate.segments) > budget
    planned = split_text(ENGLISH_PARAGRAPHS, budget, count=counter.count)
    assert max(counter.count(s) for s in planned.segments) <= budget
    assert planned.join(list(planned.segments)) == ENGLISH_PARAGRAPHS  # nothing lost or moved
    # Planned line by line again (the layout fallback), the lines fit as well.
    grouped = split_text("short line\n" * 40, budget, count=counter.count)
    again = grouped.line_by_line(0, budget, counter.count)
    assert max(counter.count(s) for s in again.segments) <= budget
