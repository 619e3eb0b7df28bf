"""Prompts and sampling exactly as Hunyuan-MT expects them.

One user message and nothing else: the model has no system prompt and must be sent none. Tencent's sampling
parameters are sent explicitly with every request, so the answer does not depend on how vLLM was started.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass

from hymt.core.catalogue import find_served
from hymt.core.detect import detect_language
from hymt.core.languages import AUTO, get_language, is_chinese, normalize_code
from hymt.core.text import neutralise_control_tokens

_ENGLISH_TEMPLATE = "Translate the following segment into {target}, without additional explanation.\n\n{text}"
_CHINESE_TEMPLATES = {
    "hunyuan-mt": "把下面的文本翻译成{target}，不要额外解释。\n\n{text}",
    "hy-mt1.5": "将以下文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释：\n\n{text}",
}


class ModelFamily(enum.StrEnum):
    """Prompt dialects. Hunyuan-MT-7B (and its FP8 and Chimera siblings) and HY-MT1.5 differ in the Chinese one."""

    HUNYUAN_MT = "hunyuan-mt"
    HY_MT15 = "hy-mt1.5"

    @classmethod
    def for_model(cls, model: str) -> ModelFamily:
        """The family a served model name belongs to: the model catalogue's, for a name it knows (a hub id or its
        default served name); otherwise by the name, where names without "hy-mt1.5" are Hunyuan-MT."""
        entry = find_served(model)
        if entry is not None and entry.family in {family.value for family in cls}:
            return cls(entry.family)
        folded = model.lower().replace("_", "-")
        return cls.HY_MT15 if "hy-mt1.5" in folded or "hy-mt-1.5" in folded else cls.HUNYUAN_MT

    @classmethod
    def parse(cls, value: str) -> ModelFamily:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise ValueError(f"unknown model family {value!r}; use one of: {names}") from None


@dataclass(frozen=True)
class Sampling:
    """Tencent's recommended sampling for Hunyuan-MT (the model card's inference parameters, also in its
    generation_config.json). Each field is a request parameter of the same name.
    """

    # Randomness of each token's choice: low enough for a faithful translation.
    temperature: float = 0.7
    # Nucleus sampling: tokens outside the most likely 60% of probability mass are never chosen.
    top_p: float = 0.6
    # And never more than the 20 most likely tokens.
    top_k: int = 20
    # Discourages the loops small translation models fall into on long texts.
    repetition_penalty: float = 1.05

    def as_params(self) -> dict[str, float | int]:
        # top_k and repetition_penalty are vLLM's extensions to the OpenAI API, accepted at the top level.
        return asdict(self)


SAMPLING = Sampling()

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


@dataclass(frozen=True)
class Prompt:
    """A prompt ready to send, with the source language it was built for ("auto" when undetected)."""

    text: str
    source: str
    target: str
    template: str  # "zh" or "en": which template was used

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
) -> Prompt:
    """The one user message for translating `text` into `target`.

    The Chinese template (with the target's Chinese name) is used when either side is a Chinese variant; the English
    template (with the target's English name) otherwise. The model's control tokens in `text` are neutralised
    (hymt.core.text), so the text stays text. Raises UnknownLanguageError for unknown codes.
    """
    target_lang = get_language(target)
    resolved = resolve_source(text, source)
    text = neutralise_control_tokens(text)
    chinese = is_chinese(target_lang.code) or (resolved != AUTO and is_chinese(resolved))
    if chinese:
        body = _CHINESE_TEMPLATES[family.value].format(target=target_lang.name_zh, text=text)
    else:
        body = _ENGLISH_TEMPLATE.format(target=target_lang.name_en, text=text)
    return Prompt(text=body, source=resolved, target=target_lang.code, template="zh" if chinese else "en")


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
