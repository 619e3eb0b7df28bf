"""The 38 languages Hunyuan-MT translates between, with the names its prompts use (the table: languages.tsv)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources


@dataclass(frozen=True)
class Language:
    code: str
    name_en: str  # used in the English prompt template
    name_zh: str  # used in the Chinese prompt template
    native: str
    script: str  # the writing system a correct translation into this language uses (see core.scripts)
    rtl: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _read_table() -> tuple[Language, ...]:
    """The table in languages.tsv (shipped next to this module): one language a line, tab-separated."""
    text = resources.files(__package__).joinpath("languages.tsv").read_text(encoding="utf-8")
    languages = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, name_en, name_zh, native, script, *flags = line.split("\t")
        languages.append(Language(code, name_en, name_zh, native, script, rtl="rtl" in flags))
    return tuple(languages)


LANGUAGES: tuple[Language, ...] = _read_table()

BY_CODE: dict[str, Language] = {lang.code: lang for lang in LANGUAGES}
# Codes are matched case-insensitively ("zh-hant", "ZH"), and "_" is accepted for "-" ("zh_Hant").
_BY_FOLDED: dict[str, Language] = {lang.code.lower(): lang for lang in LANGUAGES}

# A translation whose source or target is one of these uses the Chinese prompt template.
CHINESE_CODES = frozenset({"zh", "zh-Hant", "yue"})
AUTO = "auto"


class UnknownLanguageError(ValueError):
    """A language code that Hunyuan-MT does not know."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(
            f"unknown language code {code!r}; run 'hymt languages' for the {len(LANGUAGES)} supported codes"
        )


def get_language(code: str) -> Language:
    """The language for a code such as "en" or "zh-Hant"; raises UnknownLanguageError otherwise."""
    lang = _BY_FOLDED.get(code.strip().replace("_", "-").lower())
    if lang is None:
        raise UnknownLanguageError(code)
    return lang


def normalize_code(code: str, *, allow_auto: bool = False) -> str:
    """The canonical spelling of a code ("ZH_hant" -> "zh-Hant"); "auto" passes when allowed."""
    if allow_auto and code.strip().lower() == AUTO:
        return AUTO
    return get_language(code).code


def is_chinese(code: str) -> bool:
    return code in CHINESE_CODES
