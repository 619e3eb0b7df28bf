"""Judging a translation without knowing the right one: is it a copy of the source, and is it in the target language?

Both judgements are deliberately simple and strict about what they can tell: an answer that repeats most of the source
is not a translation in any profile; an answer whose letters are mostly in another script, or that the detector
clearly reads as another language of the same script, is not in the target language.
"""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher

from hymt.core.detect import detect_language
from hymt.core.languages import AUTO, get_language
from hymt.core.scripts import script_counts, script_share

# The sentences sent for translation, per source language. No names or numbers: a correct translation shares
# (almost) nothing with them, so a large shared part means the answer copies the source.
SAMPLES = {
    "zh": "今天天气很好，我们一起去公园散步吧。",
    "en": "The weather is lovely today, so let's take a walk in the park together.",
}

# The pairs translated on every run. The language of each answer is judged on the gpu profile: both Chinese
# directions, a right-to-left target (Arabic), an Indic (Hindi) and a Cyrillic (Russian) target, a minority language
# (Tibetan), and pairs without Chinese (Japanese is a target the model has been seen to answer in the wrong language).
PAIRS: tuple[tuple[str, str], ...] = (
    ("zh", "en"),
    ("en", "zh"),
    ("en", "ar"),
    ("en", "hi"),
    ("zh", "ru"),
    ("zh", "bo"),
    ("en", "ja"),
)

# Share of an answer's letters that must be in the target's script (a source term in parentheses is tolerated).
MIN_SCRIPT_SHARE = 0.7
# An answer that repeats this share of the source (in runs of at least COPY_RUN characters) is a copy.
MAX_COPIED_SHARE = 0.5
COPY_RUN = 3
# Latin-script languages the detector cannot tell apart by their words (Malay and Indonesian share them).
LATIN_UNTOLD = frozenset({"ms", "id"})


def _letters(text: str) -> str:
    """The text's letters and digits, case-folded and NFKC-normalised: what a copy keeps."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def copied_share(source: str, answer: str) -> float:
    """The share (0..1) of the source's letters that reappear in the answer, in runs of COPY_RUN or more."""
    src, ans = _letters(source), _letters(answer)
    if not src:
        return 0.0
    blocks = SequenceMatcher(None, src, ans, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks if block.size >= COPY_RUN) / len(src)


def copy_verdict(source: str, answer: str) -> str:
    """Why the answer is a copy of the source ("" when it is not)."""
    if _letters(answer) == _letters(source):
        return "the answer repeats the source text"
    share = copied_share(source, answer)
    if share >= MAX_COPIED_SHARE:
        return f"the answer copies {share:.0%} of the source text"
    return ""


def language_verdict(answer: str, target: str) -> str:
    """Why `answer` is not written in `target` ("" when it is, as far as scripts and the detector can tell)."""
    language = get_language(target)
    share = script_share(answer, language.script)
    if share < MIN_SCRIPT_SHARE:
        found = ", ".join(f"{script} {count}" for script, count in script_counts(answer).most_common(3))
        return (
            f"only {share:.0%} of the letters are {language.script} (expected at least {MIN_SCRIPT_SHARE:.0%}; "
            f"found {found or 'no letters'})"
        )
    if language.script == "han" and script_counts(answer)["kana"]:
        return "the answer contains Japanese kana"
    detected = detect_language(answer)
    if detected not in (target, AUTO):
        return f"it reads as {get_language(detected).name_en} ({detected})"
    if detected == AUTO and language.script == "latin" and target not in LATIN_UNTOLD:
        return f"none of {language.name_en}'s frequent words: Latin letters, but not {language.name_en}"
    return ""
