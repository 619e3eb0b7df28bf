"""The rehearsal model's tokenizer in a directory of its own (trained in well under a second, no weights), for tests
of sizing requests by the model's token count."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from hymt.core.tokens import TOKENIZER_FILE
from hymt.rehearsal.spec import DEFAULT_SPEC
from hymt.rehearsal.tokenizer import train_tokenizer

# Prose of several paragraphs and many sentences: its tokens by the rehearsal tokenizer outnumber the estimate.
ENGLISH_PARAGRAPHS = "\n\n".join(
    " ".join(f"Sentence {n} of paragraph {p} says something plain about the weather today." for n in range(12))
    for p in range(4)
)


def rehearsal_tokenizer_dir(directory: Path) -> tuple[Path, Tokenizer]:
    """Write the rehearsal tokenizer's tokenizer.json into `directory`; the directory and the tokenizer."""
    tokenizer = train_tokenizer(DEFAULT_SPEC)
    tokenizer.save(str(directory / TOKENIZER_FILE))
    return directory, tokenizer
