"""The compatible APIs (HYMT_COMPAT_APIS) through the real client libraries from PyPI: DeepL's official `deepl`
package (pointed at the gateway with its server_url option) and `libretranslatepy`, against the gateway served on a
loopback port in front of the stand-in upstream (tests/support/fake_openai.py, whose answer names the target language
the prompt asked for and repeats the source text). Off by default; keys from the keys file; per-key rate, quota,
usage and metrics; languages the model does not have refused with DeepL's and LibreTranslate's own errors; the
deployment's glossaries (HYMT_GLOSSARIES_FILE) through DeepL's glossary calls and glossary_id."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager

import deepl
import httpx
import pytest
from libretranslatepy import LibreTranslateAPI

from hymt.core.languages import LANGUAGES
from hymt_web import Settings, SettingsError
from tests.support.gateway import refused_start
from tests.support.web_deployment import SHARED_BY_TESTS, deployment

ALICE = "alice-7d2b8a4c6e9f0a1b2c3d4e5f60718293"
BOB = "bob-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(autouse=True)
def no_retries(monkeypatch):
    """The deepl client retries 429 and 5xx answers with back-off; the tests look at the first answer."""
    monkeypatch.setattr(deepl.http_client, "max_network_retries", 0)


@pytest.fixture
def keys_file(tmp_path) -> str:
    path = tmp_path / "access_keys"
    path.write_text(f"{digest(ALICE)} alice\n{digest(BOB)}\n", encoding="utf-8")
    return str(path)


TERMS = [{"source": "Hunyuan", "target": "Hunyuan-MT"}, {"source": "release", "target": "Freigabe"}]


@pytest.fixture
def glossaries_file(tmp_path) -> str:
    path = tmp_path / "glossaries.json"
    glossaries = {
        "product-de": {"source_lang": "en", "target_lang": "de", "entries": TERMS},
        "zh-en": {"source_lang": "zh", "target_lang": "EN", "entries": [{"source": "混元", "target": "Hunyuan"}]},
    }
    path.write_text(json.dumps(glossaries, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def site(fake, keys_file):
    """A factory of gateways with both compatible APIs on (settings overridable); yields base URLs."""

    @contextmanager
    def start(**overrides: object) -> Iterator[str]:
        values = {**SHARED_BY_TESTS, "access_keys_file": keys_file, "compat_apis": "deepl,libretranslate"}
        with deployment(fake, **{**values, **overrides}) as url:
            yield url

    return start


def sources(fake) -> list[str]:
    """The texts the model was asked to translate, in the order asked."""
    return [body["messages"][-1]["content"].partition("\n\n")[2] for body in fake.chat_requests()]


# -- DeepL ---------------------------------------------------------------------------------------------------------
def test_deepl_translates_one_text_and_names_the_detected_source(fake, site):
    with site() as url:
        translator = deepl.Translator(ALICE, server_url=url)
        result = translator.translate_text("The cat is on the table.", target_lang="FR")
        unsure = translator.translate_text("Hello", target_lang="FR")
    assert result.text == "French translation of: The cat is on the table."
    assert result.detected_source_lang == "EN"
    assert result.billed_characters == len("The cat is on the table.")
    assert unsure.text == "French translation of: Hello" and unsure.detected_source_lang == ""  # too short to tell


def test_deepl_translates_many_texts_in_order_with_regional_codes(fake, site):
    texts = ["Guten Morgen.", "Wie geht es dir?", "Bis bald."]
    with site() as url:
        translator = deepl.Translator(ALICE, server_url=url)
        english = translator.translate_text(texts, source_lang="DE", target_lang="EN-US")
        brazilian = translator.translate_text(texts[:1], source_lang="de", target_lang="pt-br")
        traditional = translator.translate_text("Good morning.", target_lang="ZH-HANT")
    assert [r.text for r in english] == [f"English translation of: {t}" for t in texts]
    assert [r.detected_source_lang for r in english] == ["DE"] * 3
    assert brazilian[0].text == "Portuguese translation of: Guten Morgen."
    assert traditional.text == "繁体中文 translation of: Good morning."  # the Chinese template, traditional Chinese
    assert sorted(sources(fake)[:3]) == sorted(texts)  # each text went to the model on its own


def test_deepl_lists_the_models_languages_in_its_codes(site):
    with site() as url:
        translator = deepl.Translator(ALICE, server_url=url)
        source = {lang.code: lang.name for lang in translator.get_source_languages()}
        target = {lang.code: lang.name for lang in translator.get_target_languages()}
    assert {"EN", "ZH", "DE", "YUE", "JA"} <= set(source) and "EN-GB" not in source
    assert len(source) == len(LANGUAGES) - 1  # traditional Chinese is DeepL's source "ZH" too
    assert {"EN-GB", "EN-US", "PT-BR", "PT-PT", "ZH-HANS", "ZH-HANT", "DE"} <= set(target)
    assert "EN" not in target and "PT" not in target  # DeepL lists only the regional English and Portuguese
    assert target["ZH-HANT"] == "Traditional Chinese"
    assert "LV" not in target  # Latvian: DeepL has it, the model does not


def test_deepl_usage_counts_the_characters_of_each_key(site):
    with site(compat_character_limit=1000) as url:
        alice, bob = deepl.Translator(ALICE, server_url=url), deepl.Translator(BOB, server_url=url)
        alice.translate_text(["Hello", "Good night"], target_lang="DE")
        alice.translate_text("Thanks", target_lang="ES")
        used, other = alice.get_usage(), bob.get_usage()
    assert (used.character.count, used.character.limit) == (len("HelloGood nightThanks"), 1000)
    assert other.character.count == 0 and not other.any_limit_reached


def test_deepl_refuses_a_bad_key_before_asking_the_model(fake, site):
    with site() as url:
        with pytest.raises(deepl.AuthorizationException, match="DeepL-Auth-Key"):
            deepl.Translator("not-a-key", server_url=url).translate_text("Hello", target_lang="DE")
        with pytest.raises(deepl.AuthorizationException):
            deepl.Translator("not-a-key", server_url=url).get_usage()
        bearer = httpx.post(f"{url}/v2/translate", json={"text": ["Hi"], "target_lang": "DE"},
                            headers={"Authorization": f"Bearer {ALICE}"})  # fmt: skip
    assert bearer.status_code == 403 and "DeepL-Auth-Key" in bearer.json()["message"]
    assert fake.chat_requests() == []


def test_deepl_refuses_a_language_the_model_does_not_have(fake, site):
    with site() as url:
        translator = deepl.Translator(ALICE, server_url=url)
        with pytest.raises(deepl.DeepLException, match=r"Bad request.*target_lang.*'LV'.*/v2/languages") as target:
            translator.translate_text("Hello", target_lang="LV")
        with pytest.raises(deepl.DeepLException, match=r"source_lang.*'ET'") as source:
            translator.translate_text("Tere", source_lang="ET", target_lang="DE")
    assert target.value.http_status_code == 400 and source.value.http_status_code == 400
    assert fake.chat_requests() == []


def test_deepl_refuses_a_batch_over_the_limits(fake, site):
    with site(max_chars=100) as url:
        translator = deepl.Translator(ALICE, server_url=url)
        with pytest.raises(deepl.DeepLException, match="at most 50") as many:
            translator.translate_text(["Hi"] * 51, target_lang="DE")
        with pytest.raises(deepl.DeepLException, match="120 characters in all") as long:
            translator.translate_text(["x" * 60, "y" * 60], target_lang="DE")
    assert many.value.http_status_code == 413 and long.value.http_status_code == 413
    assert fake.chat_requests() == []


def test_deepl_quota_and_rate_are_per_key(site):
    with site(compat_character_limit=10, client_burst=2, client_rate=1) as url:
        alice, bob = deepl.Translator(ALICE, server_url=url), deepl.Translator(BOB, server_url=url)
        alice.translate_text("Hello", target_lang="DE")
        with pytest.raises(deepl.QuotaExceededException):
            alice.translate_text("Good night", target_lang="DE")  # 5 + 10 > 10
        bob.translate_text("Hi", target_lang="DE")
        bob.translate_text("Yo", target_lang="DE")
        with pytest.raises(deepl.TooManyRequestsException):
            bob.translate_text("Hey", target_lang="DE")
        alice.translate_text("Bye", target_lang="DE")  # her rate is her own


def test_a_keys_own_rate_holds_on_both_apis_while_another_key_is_served(site, tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"{digest(ALICE)} alice rate=1 burst=1\n{digest(BOB)} bob\n", encoding="utf-8")
    with site(access_keys_file=str(path), client_burst=5) as url:
        alice = deepl.Translator(ALICE, server_url=url)
        alice.translate_text("Hello", target_lang="DE")
        with pytest.raises(deepl.TooManyRequestsException) as limited:
            alice.translate_text("Hello", target_lang="DE")
        libre = httpx.post(f"{url}/translate", json={"q": "Hi", "source": "en", "target": "de", "api_key": ALICE})
        bob = [deepl.Translator(BOB, server_url=url).translate_text("Hi", target_lang="DE") for _ in range(4)]
    assert limited.value.http_status_code == 429
    assert libre.status_code == 429 and libre.headers["Retry-After"] == "60"  # one request a minute: the same key
    assert [r.text for r in bob] == ["German translation of: Hi"] * 4


def test_deepl_takes_form_encoded_requests_as_curl_sends_them(site):
    with site() as url:
        answer = httpx.post(
            f"{url}/v2/translate",
            content="text=Where+is+the+station%3F&text=Hello&target_lang=de",
            headers={"Authorization": f"DeepL-Auth-Key {ALICE}", "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    assert answer.json()["translations"] == [
        {
            "detected_source_language": "EN",
            "text": "German translation of: Where is the station?",
            "billed_characters": 21,
        },
        {"detected_source_language": "", "text": "German translation of: Hello", "billed_characters": 5},
    ]


# -- DeepL: the deployment's glossaries --------------------------------------------------------------------------
def test_deepl_lists_and_reads_the_deployments_glossaries(site, glossaries_file):
    with site(glossaries_file=glossaries_file) as url:
        translator = deepl.Translator(ALICE, server_url=url)
        listed = translator.list_glossaries()
        product = translator.get_glossary("product-de")
        entries = translator.get_glossary_entries("product-de")
        with pytest.raises(deepl.GlossaryNotFoundException):
            translator.get_glossary("nonexistent")
        with pytest.raises(deepl.GlossaryNotFoundException):
            translator.get_glossary_entries("nonexistent")
        with pytest.raises(deepl.AuthorizationException):
            deepl.Translator("not-a-key", server_url=url).list_glossaries()
    assert [(g.glossary_id, g.source_lang, g.target_lang, g.entry_count) for g in listed] == [
        ("product-de", "EN", "DE", 2),
        ("zh-en", "ZH", "EN", 1),
    ]
    assert (product.name, product.ready, product.creation_time.year) == (
        "product-de",
        True,
        listed[0].creation_time.year,
    )
    assert entries == {"Hunyuan": "Hunyuan-MT", "release": "Freigabe"}


def test_a_glossary_id_sends_the_glossarys_terms_in_the_familys_template(fake, site, glossaries_file):
    fake.behaviour.model = "Hy-MT2-7B"
    with site(glossaries_file=glossaries_file) as url:
        translator = deepl.Translator(ALICE, server_url=url)
        translator.translate_text("Hunyuan ships a release.", source_lang="EN", target_lang="DE", glossary="product-de")
        info = translator.get_glossary("zh-en")  # the client checks the languages of a GlossaryInfo itself
        translator.translate_text("混元很快。", source_lang="ZH", target_lang="EN-US", glossary=info)
    english, chinese = (body["messages"] for body in fake.chat_requests())
    assert english == [
        {
            "role": "user",
            "content": "Reference the following translations:\nHunyuan translates to Hunyuan-MT\nrelease translates to "
            "Freigabe\n\nTranslate the following text into German. Note that you must ONLY output the translated "
            "result without any additional explanation:\n\nHunyuan ships a release.",
        }
    ]
    assert chinese[0]["content"] == (
        "参考下面的翻译：\n混元 翻译成 Hunyuan\n"
        "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n混元很快。"
    )


def test_a_glossary_on_a_hy_mt15_model_goes_in_its_chinese_template(fake, site, glossaries_file):
    fake.behaviour.model = "HY-MT1.5-7B"
    with site(glossaries_file=glossaries_file) as url:
        deepl.Translator(ALICE, server_url=url).translate_text(
            "A release.", source_lang="EN", target_lang="DE", glossary="product-de"
        )
    [sent] = fake.chat_requests()
    assert sent["messages"][0]["content"] == (
        "参考下面的翻译：\nHunyuan 翻译成 Hunyuan-MT\nrelease 翻译成 Freigabe\n\n"
        "将以下文本翻译为德语，注意只需要输出翻译后的结果，不要额外解释：\nA release."
    )


@pytest.mark.parametrize(
    ("model", "fields", "words"),
    [
        ("Hy-MT2-7B", {"glossary_id": "nonexistent", "source_lang": "EN"}, "no glossary 'nonexistent'.*/v2/glossaries"),
        ("Hy-MT2-7B", {"glossary_id": "product-de", "source_lang": "DE"}, "is for en to de, but the request is de to"),
        ("Hy-MT2-7B", {"glossary_id": "product-de", "source_lang": "EN", "target_lang": "FR"}, "request is en to fr"),
        ("Hy-MT2-7B", {"glossary_id": "product-de"}, "requires the source language"),
        ("Hy-MT2-7B", {"glossary_ids": ["product-de"], "source_lang": "EN"}, "glossary_ids.*not served.*glossary_id"),
        ("Hunyuan-MT-7B", {"glossary_id": "product-de", "source_lang": "EN"}, "no glossary template.*hy-mt2"),
    ],
    ids=["unknown", "other-source", "other-target", "no-source", "multilingual", "family-without-glossaries"],
)
def test_deepl_refuses_a_glossary_that_does_not_fit_before_asking_the_model(
    fake, site, glossaries_file, model, fields, words
):
    fake.behaviour.model = model
    body = {"text": ["Hunyuan ships."], "target_lang": "DE", **fields}
    with site(glossaries_file=glossaries_file) as url:
        answer = httpx.post(f"{url}/v2/translate", json=body, headers={"Authorization": f"DeepL-Auth-Key {ALICE}"})
    assert answer.status_code == 400
    assert re.search(words, answer.json()["message"]), answer.json()
    assert fake.chat_requests() == []


def test_glossaries_are_not_created_or_deleted_over_the_api(site, glossaries_file):
    with site(glossaries_file=glossaries_file) as url:
        translator = deepl.Translator(ALICE, server_url=url)
        with pytest.raises(deepl.AuthorizationException, match="defined in its inventory") as created:
            translator.create_glossary("mine", "EN", "DE", {"cat": "Katze"})
        with pytest.raises(deepl.AuthorizationException, match="hymt_glossaries"):
            translator.delete_glossary("product-de")
        assert [g.glossary_id for g in translator.list_glossaries()] == ["product-de", "zh-en"]
    assert created.value.http_status_code == 403


def test_without_glossaries_the_list_is_empty(site):
    with site() as url:
        assert deepl.Translator(ALICE, server_url=url).list_glossaries() == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[]", "holds no object of glossaries"),
        ("{", "is not JSON"),
        ('{"a b": {"source_lang": "en", "target_lang": "de", "entries": [{"source": "a", "target": "b"}]}}', "'a b'"),
        ('{"g": {"source_lang": "en", "target_lang": "xx", "entries": [{"source": "a", "target": "b"}]}}', "'xx'"),
        ('{"g": {"source_lang": "en", "target_lang": "EN", "entries": [{"source": "a", "target": "b"}]}}', "same"),
        ('{"g": {"source_lang": "en", "target_lang": "de", "entries": []}}', "at least one"),
        ('{"g": {"source_lang": "en", "target_lang": "de", "entries": [{"source": "a"}]}}', "entry 1 must be"),
        ('{"g": {"source_lang": "en", "target_lang": "de", "entries": [{"source": "a", "target": " "}]}}', "empty"),
        ('{"g": {"source_lang": "en", "target_lang": "de"}}', "exactly source_lang, target_lang and entries"),
    ],
)
def test_a_bad_glossaries_file_is_refused_naming_the_glossary(tmp_path, content, words):
    path = tmp_path / "glossaries.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=re.escape(words)):
        Settings.from_env({"HYMT_GLOSSARIES_FILE": str(path)})


def test_the_server_refuses_to_start_with_a_bad_glossaries_file_without_a_traceback(tmp_path):
    path = tmp_path / "glossaries.json"
    path.write_text('{"g": {"source_lang": "en", "target_lang": "de", "entries": "cat=Katze"}}', encoding="utf-8")
    said = refused_start({"HYMT_GLOSSARIES_FILE": str(path)})
    assert f"HYMT_GLOSSARIES_FILE: {path}, glossary 'g': entries must be a list" in said


# -- LibreTranslate ------------------------------------------------------------------------------------------------
def lt_error(call) -> tuple[int, str]:
    with pytest.raises(urllib.error.HTTPError) as failed:
        call()
    return failed.value.code, json.loads(failed.value.read())["error"]


def test_libretranslate_translates_detects_and_lists_languages(fake, site):
    with site() as url:
        client = LibreTranslateAPI(url, api_key=ALICE)
        translated = client.translate("Good morning.", source="en", target="fr")
        auto = client.translate("Das ist nicht mein Haus.", source="auto", target="zh-Hans")
        found = client.detect("Bonjour, comment ça va aujourd'hui ?")
        languages = client.languages()
    assert translated == "French translation of: Good morning."
    assert auto.endswith("Das ist nicht mein Haus.") and auto != "Das ist nicht mein Haus."
    assert found == [{"confidence": 90.0, "language": "fr"}]
    assert [lang["code"] for lang in languages] == [lang.code for lang in LANGUAGES]
    english = next(lang for lang in languages if lang["code"] == "en")
    assert english["name"] == "English" and "zh" in english["targets"] and "en" not in english["targets"]


def test_libretranslate_takes_a_list_of_texts_and_reports_the_detected_languages(site):
    with site() as url:
        answer = httpx.post(
            f"{url}/translate",
            json={"q": ["This is the way.", "Er ist nicht da.", "Hello"], "source": "auto", "target": "es",
                  "format": "html", "api_key": ALICE},
        )  # fmt: skip
    assert answer.status_code == 200
    assert answer.json() == {
        "translatedText": [
            f"Spanish translation of: {text}" for text in ("This is the way.", "Er ist nicht da.", "Hello")
        ],
        "detectedLanguage": [
            {"confidence": 90.0, "language": "en"},
            {"confidence": 90.0, "language": "de"},
            {"confidence": 0.0, "language": "auto"},  # too short to tell
        ],
    }


def test_libretranslate_refuses_bad_keys_and_languages_in_its_error_shape(fake, site):
    with site() as url:
        wrong = LibreTranslateAPI(url, api_key="guess")
        none = LibreTranslateAPI(url)
        right = LibreTranslateAPI(url, api_key=ALICE)
        assert lt_error(lambda: wrong.translate("Hello", "en", "fr")) == (
            403,
            "The access key was not accepted. Send it in the 'api_key' field. The operator of this service gives out "
            "the keys.",
        )
        assert lt_error(lambda: none.detect("Hello"))[0] == 403
        status, message = lt_error(lambda: right.translate("Hello", "en", "lv"))
        assert status == 400 and "'lv' (target)" in message and "/languages" in message
        status, message = lt_error(lambda: right.translate("Hello", "en", "en"))
        assert status == 400 and "both English" in message
        assert right.languages()  # the list needs no key, as on LibreTranslate
    assert fake.chat_requests() == []


# -- both ----------------------------------------------------------------------------------------------------------
def test_the_compatible_apis_are_off_by_default(fake, keys_file):
    with deployment(fake, access_keys_file=keys_file) as url:
        with pytest.raises(deepl.DeepLException, match="Not found") as off:
            deepl.Translator(ALICE, server_url=url).translate_text("Hello", target_lang="DE")
        assert lt_error(lambda: LibreTranslateAPI(url, api_key=ALICE).translate("Hello", "en", "de"))[0] == 404
        answers = [httpx.get(f"{url}{path}").status_code for path in ("/languages", "/v2/languages", "/v2/usage")]
    assert off.value.http_status_code == 404 and answers == [404, 404, 404]
    assert fake.chat_requests() == []


def test_one_api_on_leaves_the_other_off(site):
    with site(compat_apis="libretranslate") as url:
        assert LibreTranslateAPI(url, api_key=ALICE).translate("Hello", "en", "de") == "German translation of: Hello"
        assert httpx.post(f"{url}/v2/translate").status_code == 404


def test_usage_is_counted_per_key_in_the_metrics_without_the_key(site):
    with site() as url:
        deepl.Translator(ALICE, server_url=url).translate_text(["Hello", "World"], target_lang="DE")
        LibreTranslateAPI(url, api_key=BOB).translate("Thanks", "en", "fr")
        page = httpx.get(f"{url}/metrics").text
    alice, bob = digest(ALICE)[:8], digest(BOB)[:8]
    assert f'hymt_web_compat_characters_total{{api="deepl",key="{alice}"}} 10.0' in page
    assert f'hymt_web_compat_characters_total{{api="libretranslate",key="{bob}"}} 6.0' in page
    assert f'hymt_web_compat_translations_total{{api="deepl",key="{alice}"}} 1.0' in page
    assert ALICE not in page and BOB not in page and "alice" not in page


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"HYMT_COMPAT_APIS": "deepl,google"}, "HYMT_COMPAT_APIS: 'google' is not a compatible API"),
        ({"HYMT_COMPAT_APIS": "deepl"}, "HYMT_ACCESS_KEYS_FILE is not"),
    ],
)
def test_the_settings_name_what_is_wrong_with_the_compatible_apis(keys_file, environ, words):
    if "google" in environ["HYMT_COMPAT_APIS"]:
        environ = {**environ, "HYMT_ACCESS_KEYS_FILE": keys_file}
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(environ)
    assert Settings.from_env({"HYMT_COMPAT_APIS": " DeepL , libretranslate", "HYMT_ACCESS_KEYS_FILE": keys_file}).compat


def test_the_server_refuses_to_start_with_an_unknown_api_without_a_traceback(keys_file):
    said = refused_start({"HYMT_COMPAT_APIS": "deepl,yandex", "HYMT_ACCESS_KEYS_FILE": keys_file})
    assert "'yandex' is not a compatible API" in said and "deepl, libretranslate" in said
