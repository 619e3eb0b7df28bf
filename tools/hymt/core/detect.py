"""Guess the source language of a text, well enough to pick the prompt template.

Scripts decide most languages at once (kana -> ja, hangul -> ko, then Han -> zh); within a shared script a few
distinctive letters or common words decide, and when nothing is clear the answer is "auto": the caller then still
knows whether the text is Chinese, which is all the prompt needs.
"""

from __future__ import annotations

import re
import unicodedata

from hymt.core.languages import AUTO
from hymt.core.scripts import script_counts

# Scripts that belong to exactly one of the supported languages.
_SINGLE_LANGUAGE_SCRIPTS = {
    "kana": "ja",
    "hangul": "ko",
    "thai": "th",
    "khmer": "km",
    "myanmar": "my",
    "tibetan": "bo",
    "hebrew": "he",
    "bengali": "bn",
    "gujarati": "gu",
    "tamil": "ta",
    "telugu": "te",
    "mongolian": "mn",
}

# A CJK character carries about as much as a word of five letters: a text is CJK when its CJK characters weigh at
# least as much as its other letters (so a Chinese name in an English sentence does not make the sentence Chinese).
_LETTERS_PER_CJK_CHARACTER = 5

# Characters that only one variety of written Chinese uses, among frequent ones.
_TRADITIONAL_ONLY = set("們這個說會來時國學對發經動為與從後裡體還點開關長門問間聽見讓應該樣無實現處當麼書進過電")
_SIMPLIFIED_ONLY = set("们这个说会来时国学对发经动为与从后里体还点开关长门问间听见让应该样无实现处当么书进过电")
_CANTONESE_MARKERS = set("嘅咗喺唔佢哋冇嘢啲咁乜嗰")

# Letters that set one Arabic-script or Cyrillic language apart from its neighbours. Not in these sets on purpose:
# ھ (Urdu writes its aspirates with it too) and і (Kazakh uses it as much as Ukrainian does).
_UYGHUR_LETTERS = set("ېۆۇۈۋە")
_URDU_LETTERS = set("ٹڈڑںے")
_PERSIAN_LETTERS = set("پچژگکی")
_UKRAINIAN_LETTERS = set("іїєґІЇЄҐ")  # і counts only once Kazakh is ruled out
_KAZAKH_LETTERS = set("әғқңұһӘҒҚҢҰҺ")
_MONGOLIAN_LETTERS = set("өүӨҮ")

# Frequent function words of the Latin-script languages (lower case). A language wins with a clear lead only.
_LATIN_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to is in that it for with was are this on be have you not".split()),
    "fr": frozenset("le la les et des est une un du que dans pour pas qui sur avec ce il je vous".split()),
    "es": frozenset("el la los las y de que en es un una por con para no se del al lo como".split()),
    "pt": frozenset("o a os as e de que em um uma para com não do da dos das no na é se".split()),
    "de": frozenset("der die das und ist nicht ein eine ich zu den mit von sie es auf für dem".split()),
    "it": frozenset("il la di e che un una per non sono è del della gli le con si lo".split()),
    "nl": frozenset("de het een en van is niet dat op te in ik je met voor zijn ook".split()),
    "pl": frozenset("i w nie na się że jest do to z jak po co ale tak od".split()),
    "cs": frozenset("a je se v na že to s z do jsem jak ale by pro jako".split()),
    "tr": frozenset("ve bir bu da de için ile çok ne var ben mi değil olarak".split()),
    "vi": frozenset("và của là có không một những được cho trong người này với các".split()),
    "id": frozenset("dan yang di ini itu dengan untuk tidak dari ke akan ada saya kami adalah".split()),
    "ms": frozenset("dan yang di ini itu dengan untuk tidak dari ke akan ada saya kami ialah boleh".split()),
    "tl": frozenset("ang ng mga sa na ay at ako ko hindi siya ito para naman".split()),
}
_LATIN_LETTER_HINTS: dict[str, frozenset[str]] = {
    "vi": frozenset("ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"),
    "pl": frozenset("ąćęłńśźż"),
    "cs": frozenset("ěřůťď"),
    "tr": frozenset("ğış"),
    "de": frozenset("ßäöü"),
    "es": frozenset("ñ¿¡"),
    "pt": frozenset("ãõ"),
    "fr": frozenset("œèêëîïûç"),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Devanagari words with their vowel signs and viramas (combining marks, which \w leaves out), without dandas or digits.
_DEVANAGARI_WORD = re.compile(r"[\u0900-\u0963\u0970-\u097f]+")


def detect_language(text: str) -> str:
    """The code of the language `text` is most likely in, or "auto" when that is not clear."""
    counts = script_counts(text)
    if not counts:
        return AUTO
    cjk = counts["kana"] + counts["hangul"] + counts["han"]
    if cjk and cjk * _LETTERS_PER_CJK_CHARACTER >= sum(counts.values()) - cjk:
        # Kana first: Japanese mixes kana with Han, Chinese never has kana. Then Hangul, then Han.
        for script in ("kana", "hangul"):
            if counts[script]:
                return _SINGLE_LANGUAGE_SCRIPTS[script]
        return _chinese_variety(text)
    counts.subtract({"kana": counts["kana"], "hangul": counts["hangul"], "han": counts["han"]})
    script = counts.most_common(1)[0][0]
    if script in _SINGLE_LANGUAGE_SCRIPTS:
        return _SINGLE_LANGUAGE_SCRIPTS[script]
    if script == "arabic":
        return _arabic_script_language(text)
    if script == "cyrillic":
        return _cyrillic_language(text)
    if script == "devanagari":
        return _devanagari_language(text)
    if script == "latin":
        return _latin_language(text)
    return AUTO


def _chinese_variety(text: str) -> str:
    letters = set(text)
    if letters & _CANTONESE_MARKERS:
        return "yue"
    traditional = sum(text.count(c) for c in letters & _TRADITIONAL_ONLY)
    simplified = sum(text.count(c) for c in letters & _SIMPLIFIED_ONLY)
    return "zh-Hant" if traditional > simplified else "zh"


def _by_letters(text: str, tells: tuple[tuple[frozenset[str] | set[str], str], ...], otherwise: str) -> str:
    """The language of the first set of telltale letters the text uses (earlier sets win), else `otherwise`."""
    letters = set(text)
    return next((code for telltales, code in tells if letters & telltales), otherwise)


def _arabic_script_language(text: str) -> str:
    if "ة" not in text and set(text) & _UYGHUR_LETTERS:  # ة is Arabic's alone
        return "ug"
    return _by_letters(text, ((_URDU_LETTERS, "ur"), (_PERSIAN_LETTERS, "fa")), "ar")


def _cyrillic_language(text: str) -> str:
    return _by_letters(text, ((_KAZAKH_LETTERS, "kk"), (_UKRAINIAN_LETTERS, "uk"), (_MONGOLIAN_LETTERS, "mn")), "ru")


def _devanagari_language(text: str) -> str:
    words = set(_DEVANAGARI_WORD.findall(unicodedata.normalize("NFC", text)))
    marathi = len(words & {"आहे", "आहेत", "आणि", "नाही", "हे"}) + text.count("ळ")
    hindi = len(words & {"है", "हैं", "और", "नहीं", "यह", "का", "की", "के"})
    if marathi > hindi:
        return "mr"
    if hindi > marathi:
        return "hi"
    return AUTO


def _latin_language(text: str) -> str:
    # NFC: a letter typed as base + combining accent must still be one letter of one word.
    lowered = unicodedata.normalize("NFC", text).lower()
    words = _WORD.findall(lowered)
    scores = {code: sum(1 for w in words if w in vocab) for code, vocab in _LATIN_WORDS.items()}
    letters = set(lowered)
    for code, hints in _LATIN_LETTER_HINTS.items():
        if letters & hints:
            scores[code] += 2
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    # Malay and Indonesian share most function words: without a clear lead, report "auto" rather than guess.
    if best_score >= 2 and best_score > second_score:
        return best
    return AUTO
