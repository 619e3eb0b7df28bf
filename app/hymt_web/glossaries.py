"""Glossaries defined in the deployment (HYMT_GLOSSARIES_FILE; none when unset), which a request's `glossary_id` names
(DeepL's API, /api/translate; hymt_web.translate.deployment_glossary).

The file is JSON: an object of glossaries by name, each {"source_lang", "target_lang", "entries": [{"source",
"target"}, ...]}, the languages as the model's codes (en, de, zh-Hant ...). The stack role writes it from
hymt_glossaries. It is read once, when the settings are made: a bad file stops the start, naming the glossary and
what to write. Each glossary's entries are the `glossary` feature of the translation core (hymt.core.features), so
they are held to its limits here already, not on the first request that names them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hymt.core.features import FeatureError, Features
from hymt.core.files import TextFileError, read_text_file
from hymt.core.languages import UnknownLanguageError, normalize_code

# A name is the glossary's id in URLs (/v2/glossaries/<name>): letters, digits, '.', '_' and '-'.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHAPE = 'an object of glossaries by name, each {"source_lang", "target_lang", "entries": [{"source", "target"}]}'


class GlossariesError(ValueError):
    """The glossaries file cannot be used; the message names the file and the glossary."""


@dataclass(frozen=True)
class Glossary:
    name: str
    source_lang: str  # the model's codes
    target_lang: str
    entries: tuple[tuple[str, str], ...]  # (source term, target term)
    created: datetime  # when the file was written (DeepL's clients want a creation time)

    @property
    def features(self) -> Features:
        return Features(glossary=self.entries)


def load_glossaries(path: str) -> dict[str, Glossary]:
    """The glossaries of the file at `path`, by name; GlossariesError says what is wrong."""
    where = f"HYMT_GLOSSARIES_FILE: {path}"
    try:
        text = read_text_file(path)
    except TextFileError as error:
        raise GlossariesError(f"HYMT_GLOSSARIES_FILE: {error}; give the glossaries file's path or unset it") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise GlossariesError(f"{where} is not JSON (line {error.lineno}: {error.msg}); write {_SHAPE}") from None
    if not isinstance(data, dict):
        raise GlossariesError(f"{where} holds no object of glossaries; write {_SHAPE}")
    created = datetime.fromtimestamp(Path(path).stat().st_mtime, UTC)
    return {name: _glossary(name, value, f"{where}, glossary {name!r}", created) for name, value in data.items()}


def _glossary(name: str, value: object, where: str, created: datetime) -> Glossary:
    if not _NAME.fullmatch(name):
        raise GlossariesError(f"{where}: a name is its id in URLs; use letters, digits, '.', '_' and '-' (at most 64)")
    if not isinstance(value, dict) or set(value) != {"source_lang", "target_lang", "entries"}:
        raise GlossariesError(f"{where}: give exactly source_lang, target_lang and entries")
    langs = []
    for side in ("source_lang", "target_lang"):
        try:
            langs.append(normalize_code(str(value[side])))
        except UnknownLanguageError:
            raise GlossariesError(
                f"{where}: {side} {value[side]!r} is not a language the model translates (hymt languages lists them)"
            ) from None
    if langs[0] == langs[1]:
        raise GlossariesError(f"{where}: source_lang and target_lang are the same language; a glossary translates")
    entries = value["entries"]
    if not isinstance(entries, list) or not entries:
        raise GlossariesError(f"{where}: entries must be a list of {{source, target}} term pairs, at least one")
    pairs = []
    for number, entry in enumerate(entries, 1):
        if not (isinstance(entry, dict) and set(entry) == {"source", "target"} and _terms(entry)):
            raise GlossariesError(f"{where}: entry {number} must be {{source, target}} with two terms (strings)")
        if "\t" in entry["source"] + entry["target"]:
            raise GlossariesError(f"{where}: entry {number} has a tab in a term (DeepL's clients read entries as TSV)")
        pairs.append((entry["source"].strip(), entry["target"].strip()))
    if len({source for source, _ in pairs}) < len(pairs):
        raise GlossariesError(f"{where}: a source term is given twice; give each term one translation")
    try:
        Features(glossary=tuple(pairs))  # the translation core's limits on a glossary, checked at start
    except FeatureError as invalid:
        raise GlossariesError(f"{where}: {invalid}") from None
    return Glossary(name, langs[0], langs[1], tuple(pairs), created)


def _terms(entry: dict[str, object]) -> bool:
    return all(isinstance(term, str) for term in entry.values())
