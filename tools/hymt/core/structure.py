"""Does a translation keep what must not be translated? Placeholders, and the keys or tags of structured data.

`check_structure(source, translation, format)` lists what the translation lost, gained or changed, in plain words;
an empty list means nothing was found wrong. It is a check on the way out, not a repair: the translation is returned
as the model wrote it, with these warnings next to it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser

# Placeholders of the usual template languages: {{var}} (Jinja, Handlebars), ${var} (shell, JS), {name} and {0}
# (Python, ICU), %s and %d (printf, also %1$s and %(name)s).
_PLACEHOLDER = re.compile(
    r"\{\{\s*[^{}\s]+\s*\}\}"
    r"|\$\{[^{}\s]+\}"
    r"|\{[A-Za-z_0-9.]*\}"
    r"|%(?:\d+\$|\([A-Za-z_]\w*\))?[sd]"
)
# A YAML mapping key at the start of a line (after indentation and an optional list dash), before ": " or ":" at the
# end of the line. Quoted keys keep their quotes.
_YAML_KEY = re.compile(r"^(\s*)(?:-\s+)?((?:\"[^\"]*\"|'[^']*'|[^\s#:\"'][^:#]*?)):(?:\s|$)")
# Markdown's structure: block markers at a line's start, link and image targets, code fence lines.
_MD_BLOCK = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>|```|~~~|\|)")
_MD_TARGET = re.compile(r"\]\(([^)\s]+)")
# What usually separates fields in a line that is to keep its delimiters (Hy-MT2's delimiters feature): counted only
# then, since a translation may rightly change a text's semicolons.
DELIMITERS = ("|", "\t", ";", "^", "~", "¦", "¶", "§")


def placeholders(text: str) -> Counter[str]:
    return Counter(match.group(0) for match in _PLACEHOLDER.finditer(text))


def check_structure(source: str, translation: str, fmt: str = "text", *, delimiters: bool = False) -> list[str]:
    """What `translation` changed of `source`'s placeholders, (for json, yaml, markdown, html) structure, and (with
    `delimiters`) delimiter counts."""
    warnings = _compare("placeholder", placeholders(source), placeholders(translation))
    if delimiters:
        warnings += _compare("delimiter", _delimiters(source), _delimiters(translation))
    if fmt == "json":
        warnings += _check_json(source, translation)
    elif fmt == "yaml":
        warnings += _compare_sequence("YAML key", _yaml_keys(source), _yaml_keys(translation))
    elif fmt == "html":
        warnings += _compare_sequence("HTML tag", _html_tags(source), _html_tags(translation))
    elif fmt == "markdown":
        warnings += _compare_sequence("Markdown block marker", _md_blocks(source), _md_blocks(translation))
        warnings += _compare(
            "Markdown link target", Counter(_MD_TARGET.findall(source)), Counter(_MD_TARGET.findall(translation))
        )
    return warnings


def _delimiters(text: str) -> Counter[str]:
    return Counter({repr(mark): text.count(mark) for mark in DELIMITERS if mark in text})


def _compare(kind: str, source: Counter[str], translation: Counter[str]) -> list[str]:
    said = []
    for item in sorted(set(source) | set(translation)):
        before, after = source[item], translation[item]
        if before != after:
            said.append(
                f"the {kind} {item} appears {_times(before)} in the source but {_times(after)} in the translation"
            )
    return said


def _compare_sequence(kind: str, source: list[str], translation: list[str]) -> list[str]:
    """A difference in order or number of items, said once (the first difference)."""
    if source == translation:
        return []
    counted = _compare(kind, Counter(source), Counter(translation))
    if counted:
        return counted
    for position, (before, after) in enumerate(zip(source, translation, strict=False), 1):
        if before != after:
            return [
                f"the {kind}s are in another order: {kind} {position} is {before} in the source, {after} in the "
                "translation"
            ]
    return []


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _check_json(source: str, translation: str) -> list[str]:
    try:
        before = json.loads(source)
    except ValueError:
        return []  # the source is not JSON either: only the placeholders are compared
    try:
        after = json.loads(translation)
    except ValueError as invalid:
        return [f"the translation is not valid JSON ({invalid})"]
    return _compare_json(before, after, "$")


def _compare_json(before: object, after: object, path: str) -> list[str]:
    if isinstance(before, dict):
        if not isinstance(after, dict):
            return [f"{path} is an object in the source but not in the translation"]
        if list(before) != list(after):
            lost = [key for key in before if key not in after]
            gained = [key for key in after if key not in before]
            if lost or gained:
                return [f"the keys of {path} changed: lost {lost}, gained {gained}"]
            return [f"the keys of {path} are in another order"]
        return [said for key in before for said in _compare_json(before[key], after[key], f"{path}.{key}")]
    if isinstance(before, list):
        if not isinstance(after, list) or len(after) != len(before):
            return [f"{path} is a list of {len(before)} in the source but not in the translation"]
        return [
            said
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for said in _compare_json(b, a, f"{path}[{i}]")
        ]
    if type(before) is not type(after) and not (isinstance(before, str) or isinstance(after, str)):
        return [f"{path} changed its type (a {type(before).__name__} became a {type(after).__name__})"]
    if not isinstance(before, str) and before != after:
        return [f"{path} changed its value ({before!r} became {after!r}): only text is translated"]
    return []


def _yaml_keys(text: str) -> list[str]:
    keys = []
    for line in text.splitlines():
        match = _YAML_KEY.match(line)
        if match:
            keys.append(f"{match.group(2).strip()!r} (indented {len(match.group(1))})")
    return keys


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = " ".join(name for name, _ in attrs)
        self.tags.append(f"<{tag}{' ' + names if names else ''}>")

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"</{tag}>")


def _html_tags(text: str) -> list[str]:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser.tags


def _md_blocks(text: str) -> list[str]:
    markers = []
    for line in text.splitlines():
        match = _MD_BLOCK.match(line)
        if match:
            marker = match.group(1).strip()
            markers.append("a numbered item" if marker[0].isdigit() else repr(marker))
    return markers
