"""The 38 languages Hunyuan-MT translates between, with the names its prompts use."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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


LANGUAGES: tuple[Language, ...] = (
    Language("zh", "Chinese", "中文", "简体中文", "han"),
    Language("en", "English", "英语", "English", "latin"),
    Language("fr", "French", "法语", "Français", "latin"),
    Language("pt", "Portuguese", "葡萄牙语", "Português", "latin"),
    Language("es", "Spanish", "西班牙语", "Español", "latin"),
    Language("ja", "Japanese", "日语", "日本語", "kana"),
    Language("tr", "Turkish", "土耳其语", "Türkçe", "latin"),
    Language("ru", "Russian", "俄语", "Русский", "cyrillic"),
    Language("ar", "Arabic", "阿拉伯语", "العربية", "arabic", rtl=True),
    Language("ko", "Korean", "韩语", "한국어", "hangul"),
    Language("th", "Thai", "泰语", "ไทย", "thai"),
    Language("it", "Italian", "意大利语", "Italiano", "latin"),
    Language("de", "German", "德语", "Deutsch", "latin"),
    Language("vi", "Vietnamese", "越南语", "Tiếng Việt", "latin"),
    Language("ms", "Malay", "马来语", "Bahasa Melayu", "latin"),
    Language("id", "Indonesian", "印尼语", "Bahasa Indonesia", "latin"),
    Language("tl", "Filipino", "菲律宾语", "Filipino", "latin"),
    Language("hi", "Hindi", "印地语", "हिन्दी", "devanagari"),
    Language("zh-Hant", "Traditional Chinese", "繁体中文", "繁體中文", "han"),
    Language("pl", "Polish", "波兰语", "Polski", "latin"),
    Language("cs", "Czech", "捷克语", "Čeština", "latin"),
    Language("nl", "Dutch", "荷兰语", "Nederlands", "latin"),
    Language("km", "Khmer", "高棉语", "ភាសាខ្មែរ", "khmer"),
    Language("my", "Burmese", "缅甸语", "မြန်မာဘာသာ", "myanmar"),
    Language("fa", "Persian", "波斯语", "فارسی", "arabic", rtl=True),
    Language("gu", "Gujarati", "古吉拉特语", "ગુજરાતી", "gujarati"),
    Language("ur", "Urdu", "乌尔都语", "اردو", "arabic", rtl=True),
    Language("te", "Telugu", "泰卢固语", "తెలుగు", "telugu"),
    Language("mr", "Marathi", "马拉地语", "मराठी", "devanagari"),
    Language("he", "Hebrew", "希伯来语", "עברית", "hebrew", rtl=True),
    Language("bn", "Bengali", "孟加拉语", "বাংলা", "bengali"),
    Language("ta", "Tamil", "泰米尔语", "தமிழ்", "tamil"),
    Language("uk", "Ukrainian", "乌克兰语", "Українська", "cyrillic"),
    Language("bo", "Tibetan", "藏语", "བོད་ཡིག", "tibetan"),
    Language("kk", "Kazakh", "哈萨克语", "Қазақ тілі", "cyrillic"),
    Language("mn", "Mongolian", "蒙古语", "Монгол хэл", "cyrillic"),
    Language("ug", "Uyghur", "维吾尔语", "ئۇيغۇرچە", "arabic", rtl=True),
    Language("yue", "Cantonese", "粤语", "粵語", "han"),
)

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
