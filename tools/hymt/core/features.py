"""Prompted translation features (a glossary, context, style, structured data ...), per family as Tencent documents
them, and only for the families that document them.

Tencent publishes one template per feature (HY-MT1.5's README, "Prompts"; Hy-MT2's README, "Translation Task
Instruction Examples"), never one that combines two, so a request uses at most one feature: a model is never sent a
prompt in a shape it was not trained on. The wording of each template is in hymt.core.prompts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hymt.core.structure import check_structure
from hymt.core.text import text_problem

# The structured-data formats (`format`); "text" is plain text, no feature.
FORMAT_TEXT = "text"
STRUCTURED_FORMATS = ("json", "yaml", "markdown", "html")
FORMATS = (FORMAT_TEXT, *STRUCTURED_FORMATS)

# Limits, the same for the web API, the SDK and the CLI: a feature is an instruction, not a second text.
MAX_GLOSSARY_TERMS = 100
MAX_TERM_CHARS = 200
MAX_CONTEXT_CHARS = 2000
MAX_STYLE_CHARS = 200


class Feature(enum.StrEnum):
    GLOSSARY = "glossary"
    CONTEXT = "context"
    STYLE = "style"
    DELIMITERS = "delimiters"  # keep the delimiters' number and places (Hy-MT2)
    FORMAT = "format"  # structured data: json, yaml, markdown or html (Hy-MT2)
    FORMATTED = "formatted"  # text with <sn></sn> format tags, answered in <target></target> (HY-MT1.5)


# The families whose published templates include each feature (family names as in hymt.core.catalogue).
FAMILIES_WITH: dict[Feature, tuple[str, ...]] = {
    Feature.GLOSSARY: ("hy-mt1.5", "hy-mt2"),
    Feature.CONTEXT: ("hy-mt1.5", "hy-mt2"),
    Feature.STYLE: ("hy-mt2",),
    Feature.DELIMITERS: ("hy-mt2",),
    Feature.FORMAT: ("hy-mt2",),
    Feature.FORMATTED: ("hy-mt1.5",),
}


class FeatureError(ValueError):
    """A feature that cannot be sent as asked: the message says why and what to do (the web API answers 422)."""


class UnsupportedFeatureError(FeatureError):
    """The family's published templates do not include the feature."""

    def __init__(self, feature: Feature, family: str):
        self.feature = feature
        self.family = family
        having = ", ".join(FAMILIES_WITH[feature])
        super().__init__(
            f"the {family} prompts have no {feature.value} template; the model families that have one: {having}. "
            "Leave it out, or serve a model of one of those families (if the served name hides a model of theirs, "
            "set its family: HYMT_MODEL_FAMILY, --model-family)"
        )


@dataclass(frozen=True)
class Features:
    """What a translation asks of the prompt besides the text: at most one feature (see the module's doc)."""

    glossary: tuple[tuple[str, str], ...] = ()  # (source term, target term) pairs
    context: str = ""  # text the translation takes into account, not translated itself
    style: str = ""  # e.g. "formal", "a children's book"
    delimiters: bool = False
    format: str = FORMAT_TEXT  # json, yaml, markdown, html: structured data; text: none
    formatted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "glossary", tuple((s.strip(), t.strip()) for s, t in self.glossary))
        object.__setattr__(self, "context", self.context.strip())
        object.__setattr__(self, "style", self.style.strip())
        object.__setattr__(self, "format", (self.format or FORMAT_TEXT).strip().lower())
        problem = self.problem()
        if problem:
            raise FeatureError(problem)

    @property
    def used(self) -> tuple[Feature, ...]:
        return tuple(
            feature
            for feature, on in (
                (Feature.GLOSSARY, bool(self.glossary)),
                (Feature.CONTEXT, bool(self.context)),
                (Feature.STYLE, bool(self.style)),
                (Feature.DELIMITERS, self.delimiters),
                (Feature.FORMAT, self.format != FORMAT_TEXT),
                (Feature.FORMATTED, self.formatted),
            )
            if on
        )

    @property
    def feature(self) -> Feature | None:
        """The one feature asked for, or None."""
        return self.used[0] if self.used else None

    @property
    def whole(self) -> bool:
        """True when the text must go to the model in one piece (structured data, tagged text), not split in lines."""
        return self.format != FORMAT_TEXT or self.formatted

    def check(self, source: str, translation: str) -> list[str]:
        """What `translation` did not keep of `source`: placeholders always, the structure of the format, and the
        delimiters when asked to keep them (hymt.core.structure)."""
        return check_structure(source, translation, self.format, delimiters=self.delimiters)

    def problem(self) -> str | None:
        """What is wrong with these features (sizes, characters, combinations), or None."""
        if self.format not in FORMATS:
            return f"unknown format {self.format!r}; use one of: {', '.join(FORMATS)}"
        if len(self.glossary) > MAX_GLOSSARY_TERMS:
            return f"the glossary has {len(self.glossary)} term pairs; at most {MAX_GLOSSARY_TERMS} are sent"
        for number, (source, target) in enumerate(self.glossary, 1):
            if not source or not target:
                return f"glossary pair {number} has an empty term: give both the source and the target term"
            if max(len(source), len(target)) > MAX_TERM_CHARS:
                return f"glossary pair {number} has a term longer than {MAX_TERM_CHARS} characters"
            if "\n" in source + target or "\r" in source + target:
                return f"glossary pair {number} spans lines: a term is one line"
        for name, value, limit in (
            ("context", self.context, MAX_CONTEXT_CHARS),
            ("style", self.style, MAX_STYLE_CHARS),
        ):
            if len(value) > limit:
                return f"the {name} has {len(value)} characters; at most {limit}"
        for name, value in (
            ("glossary", "".join(s + t for s, t in self.glossary)),
            ("context", self.context),
            ("style", self.style),
        ):
            problem = text_problem(value)
            if problem:
                return f"the {name}: {problem}"
        if len(self.used) > 1:
            names = " and ".join(feature.value for feature in self.used)
            return (
                f"{names} were asked for together; Tencent documents one template per feature and none that "
                "combines them, so send one of them per request"
            )
        return None

    def check_family(self, family: str) -> None:
        """Raises UnsupportedFeatureError when `family`'s templates do not include the feature asked for."""
        feature = self.feature
        if feature is not None and family not in FAMILIES_WITH[feature]:
            raise UnsupportedFeatureError(feature, family)


NO_FEATURES = Features()
