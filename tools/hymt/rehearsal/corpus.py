"""The small multilingual text the rehearsal tokenizer is trained on.

Two everyday sentences in each of the 38 languages, and the same sentences wrapped in the project's own translation
prompts (built by hymt.core.prompts, so a prompt change reaches the tokenizer too). Byte-level BPE can encode any
text; training on this only makes the prompts, the language names and common words of every script come out as a
reasonable number of tokens instead of one token per byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources

from hymt.core.languages import LANGUAGES
from hymt.core.prompts import ModelFamily, build_prompt

# "Good morning! The weather is nice today, let's walk in the park." and "Please translate this document before
# Friday's meeting." (or, where that was beyond us, another everyday phrase), per language code: sentences.json.
SENTENCES: dict[str, tuple[str, ...]] = {
    code: tuple(sentences)
    for code, sentences in json.loads(
        resources.files(__package__).joinpath("sentences.json").read_text(encoding="utf-8")
    ).items()
}

# Text a translation service also sees: numbers, lists, markup, addresses.
EXTRAS: tuple[str, ...] = (
    "Version 0.32.0 was released on 2026-10-20 at 08:40 UTC; 3 of 4 tests passed (75%).",
    "- first item\n- second item\n\n1. one\n2. two\n",
    "<p>Hello, <b>world</b>!</p> See https://example.com/docs?lang=en&page=2 or mail info@example.com.",
    '{"text": "你好", "target": "en"} — “quoted” «text» 『引用』',
)


# The families whose default prompts the tokenizer learns from: the rehearsal model's corpus as it was generated
# first, so that adding a family to the core does not change the rehearsal model.
CORPUS_FAMILIES = (ModelFamily.HUNYUAN_MT, ModelFamily.HY_MT15)


def training_corpus() -> Iterator[str]:
    """Every sentence alone and inside the prompts Hunyuan-MT is sent (both families, both templates, every target)."""
    for code, sentences in SENTENCES.items():
        yield from sentences
        for sentence in sentences:
            for target in ("en", "zh"):
                if target != code:
                    yield build_prompt(sentence, target, source=code).text
    for language in LANGUAGES:
        yield f"{language.code} {language.name_en} {language.name_zh} {language.native}"
        for source in ("en", "zh"):
            if source != language.code:
                for family in CORPUS_FAMILIES:
                    yield build_prompt(SENTENCES[source][0], language.code, source=source, family=family).text
    yield from EXTRAS
