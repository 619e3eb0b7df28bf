"""Whole files to translate, taken apart into the pieces of text a model is given and put back together around them.

- .txt: paragraphs (blocks between blank lines); everything else, blank lines and indentation included, is kept.
- .md: paragraphs too, but fenced code blocks (``` or ~~~) and a leading front matter (--- ... ---) are kept as they
  are. A heading's or list item's marker stays in the paragraph: the model keeps it, and the structure check says so
  when it does not.
- .srt: each subtitle's text (its lines together); numbers and timings are kept.
- .json: every string value that holds a letter; keys, numbers and the nesting are kept (written back indented as the
  file was: two spaces, or on one line).

`read_document(name, text)` gives a Document: `units` ((label, text) pairs: what to translate, and where it is, for
messages) and `render(translations)`, the file with each unit replaced by its translation.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from hymt.core.chunking import TextPlan

KINDS = (".txt", ".md", ".srt", ".json")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_SRT_TIMING = re.compile(r"^\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}")


class DocumentError(ValueError):
    """A file that cannot be taken apart as its kind; the message names the place and says what to do."""


@dataclass(frozen=True)
class Document:
    kind: str
    units: tuple[tuple[str, str], ...]  # (label, text to translate)
    render: Callable[[list[str]], str]


def read_document(name: str, text: str) -> Document:
    """The document in `text` of the file called `name` (its extension says the kind: KINDS)."""
    kind = PurePath(name).suffix.lower()
    if kind == ".txt":
        return _from_plan(kind, _paragraphs(text), "paragraph")
    if kind == ".md":
        return _from_plan(kind, _markdown(text), "block")
    if kind == ".srt":
        return _srt(name, text)
    if kind == ".json":
        return _json(name, text)
    raise DocumentError(
        f"{name}: cannot translate a {kind or 'file without an extension'} file; use one of {', '.join(KINDS)}"
    )


def _from_plan(kind: str, plan: TextPlan, noun: str) -> Document:
    return Document(kind, tuple((f"{noun} {n}", s) for n, s in enumerate(plan.segments, 1)), plan.join)


class _Blocks:
    """Builds a TextPlan of paragraphs: runs of non-blank lines are segments, everything else literal."""

    def __init__(self) -> None:
        self.pieces: list[str | int] = []
        self.segments: list[str] = []
        self.paragraph: list[str] = []

    def literal(self, text: str) -> None:
        self.flush()
        self.pieces.append(text)

    def flush(self) -> None:
        block = "".join(self.paragraph)
        self.paragraph.clear()
        body = block.strip()
        if not body:
            self.pieces.append(block)
            return
        start = block.index(body[0])
        self.pieces.extend([block[:start], len(self.segments), block[start + len(body) :]])
        self.segments.append(body)

    def plan(self) -> TextPlan:
        self.flush()
        return TextPlan(tuple(p for p in self.pieces if p != ""), tuple(self.segments))


def _paragraphs(text: str) -> TextPlan:
    blocks = _Blocks()
    for line in text.splitlines(keepends=True):
        if line.strip():
            blocks.paragraph.append(line)
        else:
            blocks.literal(line)
    return blocks.plan()


def _markdown(text: str) -> TextPlan:
    """Paragraphs, with fenced code blocks and a leading front matter kept as they are."""
    lines = text.splitlines(keepends=True)
    blocks = _Blocks()
    index = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            blocks.literal("".join(lines[: end + 1]))
            index = end + 1
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            closing = (i for i in range(index + 1, len(lines)) if lines[i].lstrip().startswith(fence.group(1)))
            end = next(closing, len(lines) - 1)
            blocks.literal("".join(lines[index : end + 1]))
            index = end + 1
        elif line.strip():
            blocks.paragraph.append(line)
            index += 1
        else:
            blocks.literal(line)
            index += 1
    return blocks.plan()


def _srt(name: str, text: str) -> Document:
    """Each cue's text lines as a unit; its number and timing line kept."""
    lines = text.splitlines(keepends=True)
    pieces: list[str | int] = []
    segments: list[str] = []
    labels: list[str] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip():
            pieces.append(lines[index])
            index += 1
            continue
        number = index + 1
        if index + 1 >= len(lines) or not _SRT_TIMING.match(lines[index + 1].strip()):
            raise DocumentError(
                f"{name}, line {number}: not the start of a subtitle (its number, then a timing line such as "
                "00:00:01,000 --> 00:00:02,500); fix the file, or translate it as .txt"
            )
        pieces.append(lines[index] + lines[index + 1])
        index += 2
        cue: list[str] = []
        while index < len(lines) and lines[index].strip():
            cue.append(lines[index])
            index += 1
        block = "".join(cue)
        body = block.strip()
        if body:
            pieces.extend([len(segments), block[len(block.rstrip()) :]])
            segments.append(body)
            labels.append(f"subtitle {lines[number - 1].strip()} (line {number})")
        else:
            pieces.append(block)
    plan = TextPlan(tuple(p for p in pieces if p != ""), tuple(segments))
    return Document(".srt", tuple(zip(labels, segments, strict=True)), plan.join)


def _json(name: str, text: str) -> Document:
    """Every string value with a letter in it; written back with the file's indentation (two spaces, or one line)."""
    try:
        data = json.loads(text)
    except ValueError as invalid:
        raise DocumentError(f"{name} is not valid JSON ({invalid})") from None
    units: list[tuple[str, str]] = []

    def collect(value: object, path: str) -> object:
        if isinstance(value, dict):
            return {key: collect(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [collect(item, f"{path}[{n}]") for n, item in enumerate(value)]
        if isinstance(value, str) and _has_letter(value) and "://" not in value:
            units.append((path, value))
            return _Slot(len(units) - 1)
        return value

    shape = collect(data, "$")
    indent = 2 if "\n" in text.strip() else None
    ending = "\n" if text.endswith("\n") else ""

    def render(translations: list[str]) -> str:
        def fill(value: object) -> object:
            if isinstance(value, dict):
                return {key: fill(item) for key, item in value.items()}
            if isinstance(value, list):
                return [fill(item) for item in value]
            return translations[value.index].strip() if isinstance(value, _Slot) else value

        return json.dumps(fill(shape), ensure_ascii=False, indent=indent) + ending

    return Document(".json", tuple(units), render)


@dataclass(frozen=True)
class _Slot:
    index: int


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(char).startswith("L") for char in text)
