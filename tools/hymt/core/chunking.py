"""Split long text into pieces the model can translate one request at a time, and put the answers back together.

Every line is translated on its own, so the answer keeps the source's line breaks, blank lines and indentation
exactly; a line longer than the token budget is split between sentences (and, for a single endless sentence, at
spaces or anywhere), then sentences are grouped back up to the budget so short sentences share a request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hymt.core.prompts import estimate_tokens

# Input tokens per request. With max_tokens about twice the input, prompt + answer stay near 3,100 tokens,
# under the 4,096 context the stack serves by default.
DEFAULT_BUDGET = 1000

_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
# After a Latin full stop (or a closing quote or bracket after one) a space is needed; CJK stops end a sentence alone.
_SENTENCE_END = re.compile(r"(?<=[.!?…][\"'”’)\]])\s+|(?<=[.!?…;])\s+|(?<=[。！？；])[ \t]*")


@dataclass(frozen=True)
class TextPlan:
    """A text taken apart: literal pieces (kept as they are) and the segments to translate, in order."""

    pieces: tuple[str | int, ...]  # a str is literal text; an int is the index of a segment
    segments: tuple[str, ...]

    def join(self, translations: Sequence[str]) -> str:
        """The whole translation: each segment replaced by its translation, everything else kept."""
        if len(translations) != len(self.segments):
            raise ValueError(f"expected {len(self.segments)} translations, got {len(translations)}")
        return "".join(p if isinstance(p, str) else translations[p].strip() for p in self.pieces)


def split_text(text: str, budget: int = DEFAULT_BUDGET) -> TextPlan:
    """Take `text` apart into segments of at most `budget` estimated tokens."""
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    pieces: list[str | int] = []
    segments: list[str] = []

    def literal(s: str) -> None:
        if not s:
            return
        if pieces and isinstance(pieces[-1], str):
            pieces[-1] += s
        else:
            pieces.append(s)

    def segment(s: str) -> None:
        pieces.append(len(segments))
        segments.append(s)

    for part in _LINE_BREAK.split(text):
        if not part or _LINE_BREAK.fullmatch(part) or not part.strip():
            literal(part)
            continue
        stripped = part.strip()
        start = part.index(stripped)
        literal(part[:start])
        for is_text, piece in _split_line(stripped, budget):
            (segment if is_text else literal)(piece)
        literal(part[start + len(stripped) :])
    return TextPlan(tuple(pieces), tuple(segments))


def _split_line(line: str, budget: int) -> list[tuple[bool, str]]:
    """A line as (is_text, piece) pairs: groups of sentences within the budget and the spaces between groups."""
    if estimate_tokens(line) <= budget:
        return [(True, line)]
    # Sentences with the separator that followed each (kept verbatim between groups).
    sentences: list[tuple[str, str]] = []
    pos = 0
    for match in _SENTENCE_END.finditer(line):
        if match.end() == 0 or match.start() == pos:
            continue
        sentences.append((line[pos : match.start()], match.group()))
        pos = match.end()
    if pos < len(line):
        sentences.append((line[pos:], ""))
    pieces: list[tuple[str, str]] = []
    for sentence, sep in sentences:
        parts = _hard_split(sentence, budget)
        pieces.extend((p, "") for p in parts[:-1])
        pieces.append((parts[-1], sep))
    out: list[tuple[bool, str]] = []
    group, group_sep = "", ""
    for sentence, sep in pieces:
        if group and estimate_tokens(group + group_sep + sentence) > budget:
            out.append((True, group))
            if group_sep:
                out.append((False, group_sep))
            group = sentence
        else:
            group = group + group_sep + sentence
        group_sep = sep
    out.append((True, group))
    if group_sep:
        out.append((False, group_sep))
    return out


def _hard_split(sentence: str, budget: int) -> list[str]:
    """A sentence longer than the budget cut into pieces within it: at spaces where it has them."""
    if estimate_tokens(sentence) <= budget:
        return [sentence]
    words = re.findall(r"\S+\s*", sentence)
    if len(words) > 1:
        parts, current = [], ""
        for word in words:
            if current and estimate_tokens(current + word) > budget:
                parts.append(current)
                current = ""
            current += word
        parts.append(current)
        return [p for part in parts for p in _hard_split(part, budget)] if len(parts) > 1 else _cut(sentence, budget)
    return _cut(sentence, budget)


def _cut(text: str, budget: int) -> list[str]:
    parts, current = [], ""
    for char in text:
        if current and estimate_tokens(current + char) > budget:
            parts.append(current)
            current = ""
        current += char
    parts.append(current)
    return parts
