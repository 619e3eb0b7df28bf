"""Counting a text's tokens: with the model's own tokenizer when its files are at hand, else the cautious estimate.

A model directory that holds `tokenizer.json` (the Hugging Face `tokenizers` format: the rehearsal model has one, and
so do models published with it) gives exact counts; the chunker then plans requests that fit the budget as the model
counts it. Without that file, or without the `tokenizers` package, the estimate of `hymt.core.prompts` stands in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hymt.core.prompts import estimate_tokens

TOKENIZER_FILE = "tokenizer.json"


class TokenizerError(ValueError):
    """The tokenizer file is there but cannot be read; the message says which file and what to do."""


@dataclass(frozen=True)
class TokenCounter:
    """How many tokens a text is, and where that figure comes from (for logs and /api/info)."""

    count: Callable[[str], int]
    source: str  # "tokenizer" (the model's own) or "estimate"
    detail: str  # the tokenizer's file, or why the estimate is used


ESTIMATE = TokenCounter(estimate_tokens, "estimate", "no tokenizer directory is set")


def load_counter(directory: str | Path | None) -> TokenCounter:
    """The model's tokenizer in `directory`, or the estimate (saying why) when there is none to load.

    A tokenizer file that exists but does not load raises TokenizerError: a broken model directory should be
    noticed, not silently estimated around.
    """
    if not directory:
        return ESTIMATE
    path = Path(directory) / TOKENIZER_FILE
    if not path.is_file():
        return TokenCounter(estimate_tokens, "estimate", f"{path} does not exist")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return TokenCounter(estimate_tokens, "estimate", "the tokenizers package is not installed")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the library raises its own untyped errors for a damaged file
        raise TokenizerError(
            f"{path} could not be read as a tokenizer ({' '.join(str(exc).split())[:200]}); fetch the model again "
            "(hymt model fetch) or unset the tokenizer directory to use the estimate"
        ) from None

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return TokenCounter(count, "tokenizer", str(path))
