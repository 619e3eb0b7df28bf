"""Glossary files: one term pair a line, source term then target term, tab-separated (.tsv) or comma-separated (.csv,
with CSV's quoting for terms that hold commas).

Blank lines and lines starting with "#" are skipped, and so is a first line "source<sep>target" (a header). Any other
extension: tab-separated when the first pair's line has a tab, else comma-separated.
"""

from __future__ import annotations

import csv
from pathlib import PurePath


class GlossaryError(ValueError):
    """A glossary file that cannot be used; the message names the line and says what to write."""


def parse_glossary(text: str, name: str = "the glossary") -> tuple[tuple[str, str], ...]:
    """The (source, target) pairs of a glossary file's `text`; `name` (its path) is used in messages."""
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not numbered:
        raise GlossaryError(f"{name} has no term pairs; write one a line: source term, a tab, target term")
    suffix = PurePath(name).suffix.lower()
    tab = suffix == ".tsv" or (suffix != ".csv" and "\t" in numbered[0][1])
    said = "a tab" if tab else "a comma"
    pairs = []
    for number, line in numbered:
        fields = line.split("\t") if tab else _csv_fields(line, name, number)
        if len(fields) != 2:
            raise GlossaryError(
                f"{name}, line {number}: {len(fields)} column{'s' if len(fields) != 1 else ''} where two are needed: "
                f"the source term, {said}, the target term"
            )
        source, target = (field.strip() for field in fields)
        if not pairs and number == numbered[0][0] and (source.lower(), target.lower()) == ("source", "target"):
            continue  # a header line
        if not source or not target:
            raise GlossaryError(f"{name}, line {number}: an empty term; give both the source and the target term")
        pairs.append((source, target))
    if not pairs:
        raise GlossaryError(f"{name} has only a header; add a term pair a line below it")
    return tuple(pairs)


def _csv_fields(line: str, name: str, number: int) -> list[str]:
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as error:
        raise GlossaryError(
            f"{name}, line {number}: not a CSV line ({error}); quote a term that holds a comma"
        ) from None
