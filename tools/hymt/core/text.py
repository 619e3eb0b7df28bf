"""What text the model may be given: characters no translation can carry are refused, control tokens neutralised.

A prompt is rendered into the model's chat template as text and then tokenized with its special tokens recognised,
so a user who types `<|eos|>` or `<|extra_0|>` could otherwise end the user turn early and write a turn of their own.
`neutralise_control_tokens` breaks every such token with an invisible WORD JOINER (U+2060): the model reads the
characters as text, and no tokenizer matches the token.
"""

from __future__ import annotations

import re
import unicodedata

# Tab, line feed and carriage return are text; every other C0 control, DEL and the C1 controls are not.
_ALLOWED_CONTROLS = frozenset("\t\n\r")
# The opening of a special token: ASCII "<|" (Hunyuan, most chat models) and the full-width "<｜" some models use.
_TOKEN_OPENING = re.compile(r"<([|｜])")
WORD_JOINER = "\u2060"


def text_problem(text: str) -> str | None:
    """None when `text` can be translated; otherwise what is wrong with it and what to do, in plain words."""
    for index, char in enumerate(text):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return (
                f"The text has a lone surrogate (U+{code:04X}) at character {index + 1}, which is not a character. "
                "Send valid UTF-8 text (in JSON, a character beyond U+FFFF is written as a pair of \\u escapes)."
            )
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            return (
                f"The text has the control character U+{code:04X} at character {index + 1}. "
                "Remove control characters (only tabs and line breaks are kept) and send it again."
            )
    return None


def neutralise_control_tokens(text: str) -> str:
    """`text` with every "<|" (and "<｜") broken by a WORD JOINER, so that no special token can be spelled in it."""
    return _TOKEN_OPENING.sub("<" + WORD_JOINER + r"\1", text)
