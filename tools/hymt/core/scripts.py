"""Which writing system the letters of a text belong to.

Used to guess a source language and to check that an answer is written in the target's script (the model sometimes
answers in the wrong language).
"""

from __future__ import annotations

import unicodedata
from collections import Counter

# (first code point, last code point, script). Only letters count: digits, punctuation and spaces are ignored.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "latin"),
    (0x0061, 0x007A, "latin"),
    (0x00C0, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"),  # Latin Extended Additional: Vietnamese
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0A80, 0x0AFF, "gujarati"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0C00, 0x0C7F, "telugu"),
    (0x0E00, 0x0E7F, "thai"),
    (0x0F00, 0x0FFF, "tibetan"),
    (0x1000, 0x109F, "myanmar"),
    (0x1100, 0x11FF, "hangul"),
    (0x1780, 0x17FF, "khmer"),
    (0x1800, 0x18AF, "mongolian"),
    (0x3040, 0x30FF, "kana"),
    (0x31F0, 0x31FF, "kana"),
    (0x3130, 0x318F, "hangul"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xF900, 0xFAFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xFF66, 0xFF9F, "kana"),  # half-width katakana
)


def script_of(char: str) -> str | None:
    """The script of one character, or None for anything that is not a letter of a known script."""
    cp = ord(char)
    for first, last, script in _RANGES:
        if first <= cp <= last:
            # Inside these blocks, keep only letters (and the combining marks many Indic scripts need).
            return script if (char.isalpha() or _is_mark(char)) else None
    return None


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def script_counts(text: str) -> Counter[str]:
    """How many letters of each script the text holds."""
    counts: Counter[str] = Counter()
    for char in text:
        script = script_of(char)
        if script:
            counts[script] += 1
    return counts


def script_share(text: str, script: str) -> float:
    """The share (0..1) of the text's letters that are in `script`; 0.0 for a text without letters.

    Japanese is written with kana and kanji together, so for "kana" the Han letters count as well, but a text with no
    kana at all is not Japanese and scores 0.
    """
    counts = script_counts(text)
    total = sum(counts.values())
    if not total:
        return 0.0
    if script == "kana":
        return (counts["kana"] + counts["han"]) / total if counts["kana"] else 0.0
    return counts[script] / total
