"""Prompts and sampling exactly as Tencent documents them for each model family.

One user message and nothing else: the models have no system prompt and must be sent none. The recommended sampling
parameters are sent explicitly with every request, so the answer does not depend on how vLLM was started.

Which family's prompts a served model gets (`resolve_model`):
1. a served name that is a catalogue model's hub id or default served name (Hy-MT2-7B, tencent/HY-MT1.5-7B): that
   model's family and sampling. A family set as well (HYMT_MODEL_FAMILY, --model-family) must agree with it;
2. any other name with a family set: that family, with the family's usual sampling (top_k 20, top_p 0.6; a renamed
   Hy-MT2-30B-A3B is served under its catalogue name to get its own);
3. any other name without one: Hunyuan-MT's prompts, the default model's, and no prompted feature (a glossary, a
   context ...): those are refused with a message that says to set the family. `source` tells which rule applied.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hymt.core.catalogue import CatalogueModel, find_served
from hymt.core.detect import detect_language
from hymt.core.features import FAMILIES_WITH, NO_FEATURES, Feature, FeatureError, Features
from hymt.core.languages import AUTO, get_language, is_chinese, normalize_code
from hymt.core.sampling import SAMPLING, Sampling
from hymt.core.text import neutralise_control_tokens


class ModelFamily(enum.StrEnum):
    """Prompt dialects: Hunyuan-MT-7B (and its FP8 and Chimera siblings), HY-MT1.5 and Hy-MT2."""

    HUNYUAN_MT = "hunyuan-mt"
    HY_MT15 = "hy-mt1.5"
    HY_MT2 = "hy-mt2"

    @classmethod
    def of_entry(cls, entry: CatalogueModel) -> ModelFamily:
        """The prompts a catalogue model is translated with (a Chimera model translates by Hunyuan-MT's)."""
        return cls.HUNYUAN_MT if entry.family == "chimera" else cls(entry.family)

    @classmethod
    def for_model(cls, model: str, family: str | None = None) -> ModelFamily:
        """The family of a served model name (see `resolve_model`)."""
        return resolve_model(model, family).family

    @classmethod
    def parse(cls, value: str) -> ModelFamily:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise ValueError(f"unknown model family {value!r}; use one of: {names}") from None


# How a model's family was settled (ModelProfile.source).
FROM_CATALOGUE = "catalogue"
FROM_SETTING = "setting"
FROM_DEFAULT = "default"


class FamilyConflictError(ValueError):
    """A family was set for a served name the catalogue knows, and it is not the catalogue's."""


@dataclass(frozen=True)
class ModelProfile:
    """What translating with a served model takes: its prompt family, its sampling, and where they came from."""

    model: str
    family: ModelFamily
    sampling: Sampling
    source: str  # FROM_CATALOGUE, FROM_SETTING or FROM_DEFAULT

    def check(self, features: Features) -> None:
        """Raises UnsupportedFeatureError for a feature this family has no template for (a FeatureError with the
        way out when the family is only the default for an unknown name)."""
        if features.feature is not None and self.source == FROM_DEFAULT:
            raise FeatureError(
                f"the served model {self.model!r} is not in the model catalogue and no model family is set, so only "
                f"plain translation is sent to it; to use the {features.feature.value}, set its family "
                "(HYMT_MODEL_FAMILY, inventory hymt_model_family, --model-family: hy-mt1.5 or hy-mt2)"
            )
        features.check_family(self.family.value)

    def supports(self, feature: Feature) -> bool:
        """True when a request with `feature` is sent to this model (`check` lets it through)."""
        return self.source != FROM_DEFAULT and self.family.value in FAMILIES_WITH[feature]


def resolve_model(model: str, family: str | ModelFamily | None = None) -> ModelProfile:
    """The family and sampling for a served model name, by the rules in the module's doc; ValueError for an
    unknown family name, FamilyConflictError for a family that contradicts the catalogue's."""
    chosen = ModelFamily.parse(family) if isinstance(family, str) and family.strip() else None
    entry = find_served(model)
    if entry is not None:
        own = ModelFamily.of_entry(entry)
        if chosen is not None and chosen is not own:
            raise FamilyConflictError(
                f"the served model {model!r} is the catalogue's {entry.model_id}, of the {own.value} family, but "
                f"the model family is set to {chosen.value}: leave the family unset (it is only for served names the "
                "catalogue does not know)"
            )
        return ModelProfile(model, own, entry.sampling, FROM_CATALOGUE)
    if chosen is not None:
        return ModelProfile(model, chosen, SAMPLING, FROM_SETTING)
    return ModelProfile(model, ModelFamily.HUNYUAN_MT, SAMPLING, FROM_DEFAULT)


# max_tokens: about twice the input's estimated tokens (a translation can be longer than its source, and a
# Latin-script answer to a Chinese text takes more tokens), plus a floor for very short inputs, under a cap.
MAX_TOKENS_FLOOR = 64
MAX_TOKENS_CAP = 2048


# token_weight counts in sixths of a token, so that weights add up exactly in integers.
WEIGHT_PER_TOKEN = 6


def token_weight(char: str) -> int:
    """What one character costs, in sixths of a token (a cautious guess made without the tokenizer).

    ASCII: a third of a token. Brahmic and Southeast Asian scripts (Devanagari to Khmer and Mongolian: three UTF-8
    bytes a letter, and the least merged by byte-level tokenizers), CJK, kana and Hangul: a whole token. Everything
    else in between (accented Latin, Greek, Cyrillic, Hebrew, Arabic, punctuation): half a token.
    """
    cp = ord(char)
    if cp < 0x80:
        return 2
    if 0x0900 <= cp < 0x1E00 or cp >= 0x2E80:
        return 6
    return 3


def tokens_from_weight(weight: int) -> int:
    """Whole tokens for a sum of `token_weight`s (rounded up)."""
    return -(-weight // WEIGHT_PER_TOKEN)


def estimate_tokens(text: str) -> int:
    """A cautious token estimate without the tokenizer (see `token_weight`)."""
    return tokens_from_weight(sum(token_weight(c) for c in text))


def max_tokens_for(text: str, cap: int = MAX_TOKENS_CAP) -> int:
    """Room for the answer: twice the input's estimate plus a margin, at least the floor, never above `cap`."""
    return min(cap, max(MAX_TOKENS_FLOOR, 2 * estimate_tokens(text) + 32))


# The templates, word for word. {target} is the target's name: Chinese in a Chinese template, English in an English
# one. Hunyuan-MT and HY-MT1.5 share the English default; each family has its Chinese default.
_DEFAULT_EN = "Translate the following segment into {target}, without additional explanation.\n\n{text}"
_DEFAULT_ZH_15 = "将以下文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释：\n\n{text}"
_DEFAULTS = {
    ModelFamily.HUNYUAN_MT: ("把下面的文本翻译成{target}，不要额外解释。\n\n{text}", _DEFAULT_EN),
    ModelFamily.HY_MT15: (_DEFAULT_ZH_15, _DEFAULT_EN),
    ModelFamily.HY_MT2: (
        _DEFAULT_ZH_15,
        "Translate the following text into {target}. Note that you should only output the translated result without "
        "any additional explanation:\n\n{text}",
    ),
}
# HY-MT1.5's feature templates exist in Chinese only (its README, "Prompts"): they are used for every language pair,
# with the target's Chinese name. Its terminology template shows one "X 翻译成 Y" line; a glossary gives one a pair.
_HY_MT15 = {
    Feature.GLOSSARY: "参考下面的翻译：\n{terms}\n\n将以下文本翻译为{target}，"
    "注意只需要输出翻译后的结果，不要额外解释：\n{text}",
    Feature.CONTEXT: "{context}\n参考上面的信息，把下面的文本翻译成{target}，"
    "注意不需要翻译上文，也不要额外解释：\n{text}\n",
    Feature.FORMATTED: "将以下<source></source>之间的文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释，"
    "原文中的<sn></sn>标签表示标签内文本包含格式信息，需要在译文中相应的位置尽量保留该标签。输出格式为：<target>str</target>"
    "\n\n<source>{text}</source>",
}
_HY_MT15_TERM = "{source} 翻译成 {target}"
# Hy-MT2's (its README's table, as it renders: its bold and code marks are the table's, not the prompt's; the space the
# Chinese column puts before a `{target_lang}` mark is left out, as in the default template), Chinese and English.
_HY_MT2_ZH = {
    Feature.GLOSSARY: "参考下面的翻译：\n{terms}\n将以下文本翻译为{target}，"
    "注意只需要输出翻译后的结果，不要额外解释：\n\n{text}",
    Feature.STYLE: "请将以下文本翻译为{target}。\n注意翻译的风格要严格符合【{style}】\n\n{text}",
    Feature.DELIMITERS: "请将以下文本准确翻译为{target}。\n"
    "你必须在译文中保留等量的分隔符，绝对不可遗漏、转义或翻译该符号，并注意分隔符的位置。\n\n{text}",
    Feature.CONTEXT: "【背景信息】\n{context}\n\n请结合背景信息将以下文本翻译为{target}。\n\n【待翻译文本】\n{text}",
}
_HY_MT2_EN = {
    Feature.GLOSSARY: "Reference the following translations:\n{terms}\n\nTranslate the following text into {target}. "
    "Note that you must ONLY output the translated result without any additional explanation:\n\n{text}",
    Feature.STYLE: "Please translate the following text into {target}. Note that the translation style must strictly "
    "conform to [{style}]:\n\n{text}",
    Feature.DELIMITERS: "Please accurately translate the following text into {target}.\nYou must retain the exact same "
    "number of delimiters in the translation. Strictly do not omit, escape, or translate these symbols, and pay close "
    "attention to their placement.\n\n{text}",
    Feature.CONTEXT: "[Background Information]\n{context}\n\nPlease translate the following text into {target}, taking "
    "the provided background information into consideration.\n\n[Source Text]\n{text}",
    # Structured data: the English form for every pair. The Chinese form puts {source_text} into its first sentence as
    # well as under its last heading, so how it is filled in is not clear from the README; it is not used.
    Feature.FORMAT: "### Task\nTranslate the user-facing text within the following {format} data into {target}.\n\n"
    "### Strict Rules\n1. Structure Preservation: You MUST preserve the original {format} data structure, nesting, "
    "hierarchy, and indentation exactly as they are.\n2. Selective Translation: Translate ONLY the visible, "
    "user-facing text content/values.\n3. Strict Non-Translation: NEVER translate or alter code tags, keys, "
    "properties, object names, or variable placeholders. Leave them exactly in their original English/code form."
    "\n\n### Source Data\n{text}",
}
_HY_MT2_TERM = {"zh": "{source} 翻译成 {target}", "en": "{source} translates to {target}"}
# The {format_type} names of structured data.
FORMAT_NAMES = {"json": "JSON", "yaml": "YAML", "markdown": "Markdown", "html": "HTML"}


@dataclass(frozen=True)
class Prompt:
    """A prompt ready to send, with the source language it was built for ("auto" when undetected)."""

    text: str
    source: str
    target: str
    template: str  # "zh" or "en": which language the template is in
    feature: str | None = None  # the feature's template, or None for the default one

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.text}]


def resolve_source(text: str, source: str = AUTO) -> str:
    """The source code to use: the given one, or the detected one ("auto" when unsure)."""
    source = normalize_code(source, allow_auto=True)
    return detect_language(text) if source == AUTO else source


def build_prompt(
    text: str,
    target: str,
    source: str = AUTO,
    family: ModelFamily = ModelFamily.HUNYUAN_MT,
    features: Features = NO_FEATURES,
) -> Prompt:
    """The one user message for translating `text` into `target`, with at most one feature (hymt.core.features).

    The Chinese template (with the target's Chinese name) is used when either side is a Chinese variant, the English
    one (with the target's English name) otherwise; HY-MT1.5's features are Chinese only, Hy-MT2's structured-data one
    is used in English (see the templates above). The model's control tokens in the text and the features are
    neutralised (hymt.core.text), so they stay text. Raises UnknownLanguageError for unknown codes and
    UnsupportedFeatureError for a feature the family has no template for.
    """
    family = ModelFamily(family)
    features.check_family(family.value)
    target_lang = get_language(target)
    resolved = resolve_source(text, source)
    chinese = is_chinese(target_lang.code) or (resolved != AUTO and is_chinese(resolved))
    feature = features.feature
    if feature is None:
        template = _DEFAULTS[family][0 if chinese else 1]
    elif family is ModelFamily.HY_MT15:
        template, chinese = _HY_MT15[feature], True
    elif feature is Feature.FORMAT:
        template, chinese = _HY_MT2_EN[feature], False
    else:
        template = (_HY_MT2_ZH if chinese else _HY_MT2_EN)[feature]
    language = "zh" if chinese else "en"
    body = template.format(
        target=target_lang.name_zh if chinese else target_lang.name_en,
        text=neutralise_control_tokens(text),
        terms=_terms(features.glossary, _HY_MT15_TERM if family is ModelFamily.HY_MT15 else _HY_MT2_TERM[language]),
        context=neutralise_control_tokens(features.context),
        style=neutralise_control_tokens(features.style),
        format=FORMAT_NAMES.get(features.format, ""),
    )
    return Prompt(body, resolved, target_lang.code, language, feature.value if feature else None)


def _terms(glossary: tuple[tuple[str, str], ...], line: str) -> str:
    return "\n".join(
        line.format(source=neutralise_control_tokens(s), target=neutralise_control_tokens(t)) for s, t in glossary
    )


_TARGET_WRAPPER = re.compile(r"^\s*<target>(.*)</target>\s*$", re.DOTALL)


def unwrap_formatted(answer: str) -> str:
    """HY-MT1.5's formatted translation comes as <target>...</target> (its template asks for it): the inside, or the
    answer as it is when the model left the wrapper out."""
    match = _TARGET_WRAPPER.match(answer)
    return match.group(1) if match else answer


def chat_request(
    prompt: Prompt,
    model: str,
    *,
    source_text: str,
    stream: bool = False,
    sampling: Sampling = SAMPLING,
    max_tokens_cap: int = MAX_TOKENS_CAP,
) -> dict[str, object]:
    """The JSON body of an OpenAI-compatible /chat/completions request for this prompt."""
    body: dict[str, object] = {
        "model": model,
        "messages": prompt.messages(),
        "max_tokens": max_tokens_for(source_text, max_tokens_cap),
        "stream": stream,
        **sampling.as_params(),
    }
    return body
