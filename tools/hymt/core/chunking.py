"""Split long text into pieces the model can translate one request at a time, and put the answers back together.

Consecutive lines of a paragraph share a request up to the token budget (a text of many short lines costs a few
requests, not one a line), their line breaks sent to the model inside the segment; blank lines between paragraphs and
the whitespace around each segment stay literal, so the answer keeps them exactly. With `across_paragraphs`, blank
lines go inside segments too (the fallback for a text of very many tiny paragraphs). A line longer than the budget
is split between sentences (and, for a single endless sentence, at spaces or anywhere), then sentences are grouped
back up to the budget so short sentences share a request.

The model usually keeps the line breaks of a segment of several lines, but nothing makes it: `TextPlan.keeps_lines`
tells whether an answer has the segment's number of lines, and `TextPlan.line_by_line` plans that one segment again
with a request per line, for callers to fall back on (within their cap on requests), so the layout stays the source's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hymt.core.prompts import WEIGHT_PER_TOKEN, token_weight

# Input tokens per request. With max_tokens about twice the input, prompt + answer stay near 3,100 tokens,
# under the 4,096 context the stack serves by default.
DEFAULT_BUDGET = 1000

# A word and the spaces after it; leading spaces stay with the first word so no character is lost.
_WORD_WITH_SPACES = re.compile(r"\s*\S+\s*|\s+")
_JOINERS = frozenset("\u200c\u200d")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
# After a Latin full stop (or a closing quote or bracket after one), an Arabic or Urdu stop or a Devanagari danda a
# space is needed; CJK, Burmese and Khmer stops end a sentence alone.
_SENTENCE_END = re.compile(r"(?<=[.!?…][\"'”’)\]])\s+|(?<=[.!?…;؟۔।॥])\s+|(?<=[。！？；။។])[ \t]*")


@dataclass(frozen=True)
class TextPlan:
    """A text taken apart: literal pieces (kept as they are) and the segments to translate, in order."""

    pieces: tuple[str | int, ...]  # a str is literal text; an int is the index of a segment
    segments: tuple[str, ...]

    def line_count(self, index: int) -> int:
        """How many lines segment `index` has (more than one only where lines were grouped)."""
        return _line_count(self.segments[index])

    def keeps_lines(self, index: int, translation: str) -> bool:
        """True when `translation` has as many lines as segment `index` (always for a one-line segment)."""
        lines = self.line_count(index)
        return lines == 1 or _line_count(translation.strip()) == lines

    def line_by_line(
        self, index: int, budget: int = DEFAULT_BUDGET, count: Callable[[str], int] | None = None
    ) -> TextPlan:
        """Segment `index` planned again with a request per line (blank lines and indentation literal)."""
        return split_text(self.segments[index], budget, group_lines=False, count=count)

    def join(self, translations: Sequence[str]) -> str:
        """The whole translation: each segment replaced by its translation, everything else kept."""
        if len(translations) != len(self.segments):
            raise ValueError(f"expected {len(self.segments)} translations, got {len(translations)}")
        return "".join(p if isinstance(p, str) else translations[p].strip() for p in self.pieces)


def whole_text(text: str) -> TextPlan:
    """`text` as one segment, its outer whitespace kept literal: structured data is never taken apart."""
    body = text.strip()
    start = text.index(body[0]) if body else len(text)
    return TextPlan(pieces=(text[:start], 0, text[start + len(body) :]), segments=(body,))


def split_text(
    text: str,
    budget: int = DEFAULT_BUDGET,
    *,
    across_paragraphs: bool = False,
    group_lines: bool = True,
    count: Callable[[str], int] | None = None,
) -> TextPlan:
    """Take `text` apart into segments of at most `budget` estimated tokens.

    `group_lines=False` gives each line a segment of its own (the fallback when a model did not keep a group's lines).
    `count`, the model's own token count (hymt.core.tokens), makes every segment fit `budget` as the model counts:
    where the estimate fell short, the text is planned again with a smaller estimated budget until all fit.
    """
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    planned = budget
    while True:
        plan = _Planner(text, planned * WEIGHT_PER_TOKEN, across_paragraphs, group_lines).plan()
        if count is None or planned == 1:
            return plan
        largest = max((count(segment) for segment in plan.segments), default=0)
        if largest <= budget:
            return plan
        # Shrink in proportion to the overshoot (a tenth more, so it converges in a step or two).
        planned = max(1, min(planned - 1, planned * budget * 10 // (largest * 11)))


class _Planner:
    """Walks the lines of a text once, growing a group of lines until the next would exceed the budget."""

    def __init__(self, text: str, limit: int, across_paragraphs: bool, group_lines: bool) -> None:
        self.text = text
        self.limit = limit
        self.across_paragraphs = across_paragraphs
        self.group_lines = group_lines
        self.pieces: list[str | int] = []
        self.segments: list[str] = []
        self.done = 0  # text[:done] is in the pieces already
        self.group: tuple[int, int, int] | None = None  # (start, end, weight) of the lines being grouped

    def literal(self, s: str) -> None:
        if not s:
            return
        if self.pieces and isinstance(self.pieces[-1], str):
            self.pieces[-1] += s
        else:
            self.pieces.append(s)

    def segment(self, s: str) -> None:
        self.pieces.append(len(self.segments))
        self.segments.append(s)

    def literal_up_to(self, position: int) -> None:
        self.literal(self.text[self.done : position])
        self.done = max(self.done, position)

    def close(self) -> None:
        if self.group is not None:
            start, end, _ = self.group
            self.literal_up_to(start)
            self.segment(self.text[start:end])
            self.done = end
            self.group = None

    def plan(self) -> TextPlan:
        text = self.text
        breaks = list(_LINE_BREAK.finditer(text))
        starts = [0] + [m.end() for m in breaks]
        ends = [m.start() for m in breaks] + [len(text)]
        for line_start, line_end in zip(starts, ends, strict=True):
            line = text[line_start:line_end]
            stripped = line.strip()
            if not stripped:
                if not self.across_paragraphs:
                    self.close()
                continue
            start = line_start + line.index(stripped)
            end = start + len(stripped)
            weight = _weight(stripped)
            if weight > self.limit:  # a line of its own, split between sentences
                self.close()
                self.literal_up_to(start)
                for is_text, piece in _split_line(stripped, self.limit // WEIGHT_PER_TOKEN):
                    (self.segment if is_text else self.literal)(piece)
                self.done = end
                continue
            if self.group is not None and not self.group_lines:
                self.close()
            if self.group is not None:
                group_start, group_end, group_weight = self.group
                joined = group_weight + _weight(text[group_end:end])
                if joined <= self.limit:
                    self.group = (group_start, end, joined)
                    continue
                self.close()
            self.group = (start, end, weight)
        self.close()
        self.literal_up_to(len(text))
        return TextPlan(tuple(self.pieces), tuple(self.segments))


def _split_line(line: str, budget: int) -> list[tuple[bool, str]]:
    """A line as (is_text, piece) pairs: groups of sentences within the budget and the spaces between groups."""
    limit = budget * WEIGHT_PER_TOKEN
    if _weight(line) <= limit:
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
        parts = _hard_split(sentence, limit)
        pieces.extend((p, "") for p in parts[:-1])
        pieces.append((parts[-1], sep))
    out: list[tuple[bool, str]] = []
    group, group_sep, group_weight = "", "", 0
    for sentence, sep in pieces:
        weight = _weight(sentence)
        if group and group_weight + _weight(group_sep) + weight > limit:
            out.append((True, group))
            if group_sep:
                out.append((False, group_sep))
            group, group_weight = sentence, weight
        else:
            group, group_weight = group + group_sep + sentence, group_weight + _weight(group_sep) + weight
        group_sep = sep
    out.append((True, group))
    if group_sep:
        out.append((False, group_sep))
    return _detach_spaces(out)


def _detach_spaces(items: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """Spaces at either end of a piece to translate become literal text: the model would drop them."""
    out: list[tuple[bool, str]] = []
    for is_text, piece in items:
        core = piece.strip()
        if not is_text or not core:
            out.append((False, piece))
            continue
        start = piece.index(core)
        out.extend([(False, piece[:start]), (True, core), (False, piece[start + len(core) :])])
    return [(is_text, piece) for is_text, piece in out if piece]


def _hard_split(sentence: str, limit: int) -> list[str]:
    """A sentence heavier than `limit` cut into pieces within it: between words where it has spaces.

    The pieces put together give the sentence back exactly.
    """
    if _weight(sentence) <= limit:
        return [sentence]
    parts: list[str] = []
    current, current_weight = "", 0
    for word in _WORD_WITH_SPACES.findall(sentence):
        weight = _weight(word)
        if weight > limit:
            if current:
                parts.append(current)
            *whole, current = _cut(word, limit)
            parts.extend(whole)
            current_weight = _weight(current)
            continue
        if current and current_weight + weight > limit:
            parts.append(current)
            current, current_weight = "", 0
        current += word
        current_weight += weight
    if current:
        parts.append(current)
    return parts


def _cut(text: str, limit: int) -> list[str]:
    """Text without usable spaces cut into pieces within `limit`, never between a letter and its combining marks."""
    parts: list[str] = []
    current, current_weight = "", 0
    for cluster in _clusters(text):
        weight = _weight(cluster)
        if current and current_weight + weight > limit:
            parts.append(current)
            current, current_weight = "", 0
        if weight > limit:  # only with a budget smaller than one stacked cluster: cut it too
            for char in cluster:
                char_weight = token_weight(char)
                if current and current_weight + char_weight > limit:
                    parts.append(current)
                    current, current_weight = "", 0
                current += char
                current_weight += char_weight
            continue
        current += cluster
        current_weight += weight
    parts.append(current)
    return parts


def _clusters(text: str) -> list[str]:
    """Letters with the combining marks and joiners that follow them (Indic vowel signs, viramas, accents)."""
    clusters: list[str] = []
    for char in text:
        if clusters and (unicodedata.category(char).startswith("M") or char in _JOINERS):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _line_count(text: str) -> int:
    return len(_LINE_BREAK.findall(text)) + 1


def _weight(text: str) -> int:
    return sum(token_weight(c) for c in text)
