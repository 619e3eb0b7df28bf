"""The small multilingual text the rehearsal tokenizer is trained on.

Two everyday sentences in each of the 38 languages, and the same sentences wrapped in the project's own translation
prompts (built by hymt.core.prompts, so a prompt change reaches the tokenizer too). Byte-level BPE can encode any
text; training on this only makes the prompts, the language names and common words of every script come out as a
reasonable number of tokens instead of one token per byte.
"""

from __future__ import annotations

from collections.abc import Iterator

from hymt.core.languages import LANGUAGES
from hymt.core.prompts import ModelFamily, build_prompt

# "Good morning! The weather is nice today, let's walk in the park." and "Please translate this document before
# Friday's meeting." (or, where that was beyond us, another everyday phrase).
SENTENCES: dict[str, tuple[str, ...]] = {
    "zh": ("早上好！今天天气很好，我们去公园散步吧。", "请在星期五开会之前翻译这份文件。"),
    "en": (
        "Good morning! The weather is nice today, so let's take a walk in the park.",
        "Please translate this document before Friday's meeting.",
    ),
    "fr": (
        "Bonjour ! Il fait beau aujourd'hui, allons nous promener dans le parc.",
        "Veuillez traduire ce document avant la réunion de vendredi.",
    ),
    "pt": (
        "Bom dia! O tempo está bom hoje, vamos passear no parque.",
        "Por favor, traduza este documento antes da reunião de sexta-feira.",
    ),
    "es": (
        "¡Buenos días! Hoy hace buen tiempo, vamos a pasear por el parque.",
        "Por favor, traduce este documento antes de la reunión del viernes.",
    ),
    "ja": (
        "おはようございます！今日はいい天気なので、公園を散歩しましょう。",
        "金曜日の会議の前にこの書類を翻訳してください。",
    ),
    "tr": (
        "Günaydın! Bugün hava çok güzel, parkta yürüyüş yapalım.",
        "Lütfen bu belgeyi cuma günkü toplantıdan önce çevirin.",
    ),
    "ru": (
        "Доброе утро! Сегодня хорошая погода, давайте погуляем в парке.",
        "Пожалуйста, переведите этот документ до совещания в пятницу.",
    ),
    "ar": ("صباح الخير! الطقس جميل اليوم، لنتمشى في الحديقة.", "من فضلك ترجم هذه الوثيقة قبل اجتماع يوم الجمعة."),
    "ko": ("좋은 아침입니다! 오늘은 날씨가 좋으니 공원에서 산책합시다.", "금요일 회의 전에 이 문서를 번역해 주세요."),
    "th": ("สวัสดีตอนเช้า! วันนี้อากาศดี ไปเดินเล่นในสวนกันเถอะ", "กรุณาแปลเอกสารนี้ก่อนการประชุมวันศุกร์"),
    "it": (
        "Buongiorno! Oggi fa bel tempo, andiamo a fare una passeggiata nel parco.",
        "Per favore, traduci questo documento prima della riunione di venerdì.",
    ),
    "de": (
        "Guten Morgen! Heute ist schönes Wetter, lass uns im Park spazieren gehen.",
        "Bitte übersetze dieses Dokument vor dem Treffen am Freitag.",
    ),
    "vi": (
        "Chào buổi sáng! Hôm nay trời đẹp, chúng ta đi dạo trong công viên nhé.",
        "Vui lòng dịch tài liệu này trước cuộc họp vào thứ Sáu.",
    ),
    "ms": (
        "Selamat pagi! Cuaca hari ini baik, mari kita berjalan-jalan di taman.",
        "Sila terjemahkan dokumen ini sebelum mesyuarat pada hari Jumaat.",
    ),
    "id": (
        "Selamat pagi! Cuaca hari ini cerah, ayo jalan-jalan di taman.",
        "Tolong terjemahkan dokumen ini sebelum rapat hari Jumat.",
    ),
    "tl": (
        "Magandang umaga! Maganda ang panahon ngayon, maglakad-lakad tayo sa parke.",
        "Pakisalin ang dokumentong ito bago ang pulong sa Biyernes.",
    ),
    "hi": ("सुप्रभात! आज मौसम अच्छा है, चलो पार्क में टहलने चलते हैं।", "कृपया शुक्रवार की बैठक से पहले इस दस्तावेज़ का अनुवाद करें।"),
    "zh-Hant": ("早安！今天天氣很好，我們去公園散步吧。", "請在星期五開會之前翻譯這份文件。"),
    "pl": (
        "Dzień dobry! Dziś jest ładna pogoda, chodźmy na spacer do parku.",
        "Proszę przetłumaczyć ten dokument przed piątkowym spotkaniem.",
    ),
    "cs": (
        "Dobré ráno! Dnes je hezké počasí, pojďme se projít do parku.",
        "Přeložte prosím tento dokument před páteční schůzkou.",
    ),
    "nl": (
        "Goedemorgen! Het is mooi weer vandaag, laten we een wandeling maken in het park.",
        "Vertaal dit document alstublieft vóór de vergadering van vrijdag.",
    ),
    "km": ("អរុណសួស្តី! ថ្ងៃនេះអាកាសធាតុល្អ តោះទៅដើរលេងនៅសួនច្បារ។", "សូមបកប្រែឯកសារនេះមុនការប្រជុំថ្ងៃសុក្រ។"),
    "my": ("မင်္ဂလာနံနက်ခင်းပါ။ ဒီနေ့ရာသီဥတုကောင်းတယ်။", "ကျေးဇူးတင်ပါတယ်။"),
    "fa": ("صبح بخیر! امروز هوا خوب است، بیایید در پارک قدم بزنیم.", "لطفاً این سند را قبل از جلسه‌ی جمعه ترجمه کنید."),
    "gu": ("સુપ્રભાત! આજે હવામાન સારું છે, ચાલો બગીચામાં ફરવા જઈએ.", "કૃપા કરીને શુક્રવારની બેઠક પહેલાં આ દસ્તાવેજનો અનુવાદ કરો."),
    "ur": (
        "صبح بخیر! آج موسم اچھا ہے، چلو پارک میں سیر کرتے ہیں۔",
        "براہ کرم جمعہ کی میٹنگ سے پہلے اس دستاویز کا ترجمہ کریں۔",
    ),
    "te": ("శుభోదయం! ఈ రోజు వాతావరణం బాగుంది, పార్కులో నడుద్దాం.", "దయచేసి శుక్రవారం సమావేశానికి ముందు ఈ పత్రాన్ని అనువదించండి."),
    "mr": ("सुप्रभात! आज हवामान छान आहे, चला बागेत फिरायला जाऊया.", "कृपया शुक्रवारच्या बैठकीपूर्वी या दस्तऐवजाचे भाषांतर करा."),
    "he": ("בוקר טוב! מזג האוויר נעים היום, בואו נטייל בפארק.", "נא לתרגם את המסמך הזה לפני הפגישה ביום שישי."),
    "bn": ("সুপ্রভাত! আজ আবহাওয়া ভালো, চলো পার্কে হাঁটতে যাই।", "অনুগ্রহ করে শুক্রবারের সভার আগে এই নথিটি অনুবাদ করুন।"),
    "ta": ("காலை வணக்கம்! இன்று வானிலை நன்றாக உள்ளது, பூங்காவில் நடக்கலாம்.", "வெள்ளிக்கிழமை கூட்டத்திற்கு முன் இந்த ஆவணத்தை மொழிபெயர்க்கவும்."),
    "uk": (
        "Доброго ранку! Сьогодні гарна погода, ходімо погуляємо в парку.",
        "Будь ласка, перекладіть цей документ до наради в п'ятницю.",
    ),
    "bo": ("བཀྲ་ཤིས་བདེ་ལེགས།", "ཐུགས་རྗེ་ཆེ།"),
    "kk": (
        "Қайырлы таң! Бүгін ауа райы жақсы, саябаққа серуендейік.",
        "Өтінемін, осы құжатты жұма күнгі жиналысқа дейін аударыңыз.",
    ),
    "mn": (
        "Өглөөний мэнд! Өнөөдөр цаг агаар сайхан байна.",
        "Энэ баримт бичгийг баасан гарагийн хурлаас өмнө орчуулна уу.",
    ),
    "ug": ("خەيرلىك ئەتىگەن! بۈگۈن ھاۋا ياخشى.", "رەھمەت."),
    "yue": ("早晨！今日天氣好好，我哋去公園行吓啦。", "唔該喺星期五開會之前翻譯呢份文件。"),
}

# Text a translation service also sees: numbers, lists, markup, addresses.
EXTRAS: tuple[str, ...] = (
    "Version 0.32.0 was released on 2026-10-20 at 08:40 UTC; 3 of 4 tests passed (75%).",
    "- first item\n- second item\n\n1. one\n2. two\n",
    "<p>Hello, <b>world</b>!</p> See https://example.com/docs?lang=en&page=2 or mail info@example.com.",
    '{"text": "你好", "target": "en"} — “quoted” «text» 『引用』',
)


def training_corpus() -> Iterator[str]:
    """Every sentence alone and inside the prompts Hunyuan-MT is sent (both families, both templates, every target)."""
    for code, sentences in SENTENCES.items():
        yield from sentences
        for sentence in sentences:
            for target in ("en", "zh"):
                if target != code:
                    yield build_prompt(sentence, target, source=code).text
    for language in LANGUAGES:
        yield f"{language.code} {language.name_en} {language.name_zh} {language.native}"
        for source in ("en", "zh"):
            if source != language.code:
                for family in ModelFamily:
                    yield build_prompt(SENTENCES[source][0], language.code, source=source, family=family).text
    yield from EXTRAS
