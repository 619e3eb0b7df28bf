"""The translation API's prompted features: what reaches the model, what is refused (and how), and the warnings.

The expected prompts are written out by hand (tests/unit/test_features.py has every template); here the point is that
the API's fields reach the model in the family's template, and nothing else does.
"""

from __future__ import annotations

import json

import pytest

from hymt_web import Settings, SettingsError
from tests.web.conftest import gateway, parse_events, settings_for

GLOSSARY = [{"source": "Hunyuan", "target": "混元"}]


async def _post(fake, body, route="/api/translate", **settings):
    async with gateway(settings_for(fake, **settings)) as client:
        return await client.post(route, json=body)


@pytest.mark.anyio
async def test_a_glossary_reaches_a_hy_mt2_model_in_its_template(fake):
    fake.behaviour.model = "Hy-MT2-7B"
    response = await _post(fake, {"text": "Hunyuan ist schnell.", "target": "fr", "source": "de", "glossary": GLOSSARY})
    assert response.status_code == 200, response.text
    [sent] = fake.chat_requests()
    assert sent["messages"] == [
        {
            "role": "user",
            "content": "Reference the following translations:\nHunyuan translates to 混元\n\nTranslate the following "
            "text into French. Note that you must ONLY output the translated result without any additional "
            "explanation:\n\nHunyuan ist schnell.",
        }
    ]


@pytest.fixture
def glossaries_file(tmp_path) -> str:
    """A deployment's glossaries (HYMT_GLOSSARIES_FILE, as the stack role writes them from hymt_glossaries)."""
    path = tmp_path / "glossaries.json"
    entries = [{"source": "Hunyuan", "target": "混元"}, {"source": "GPU", "target": "显卡"}]
    path.write_text(json.dumps({"terms": {"source_lang": "de", "target_lang": "fr", "entries": entries}}), "utf-8")
    return str(path)


@pytest.mark.anyio
async def test_a_deployments_glossary_named_by_glossary_id_reaches_the_model(fake, glossaries_file):
    fake.behaviour.model = "Hy-MT2-7B"
    body = {"text": "Hunyuan ist schnell.", "target": "FR", "source": "de", "glossary_id": "terms"}
    response = await _post(fake, body, glossaries_file=glossaries_file)
    assert response.status_code == 200, response.text
    [sent] = fake.chat_requests()
    assert sent["messages"][0]["content"] == (
        "Reference the following translations:\nHunyuan translates to 混元\nGPU translates to 显卡\n\nTranslate the "
        "following text into French. Note that you must ONLY output the translated result without any additional "
        "explanation:\n\nHunyuan ist schnell."
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "fields", "code", "words"),
    [
        ("Hy-MT2-7B", {"glossary_id": "other"}, "unknown_glossary", "has no glossary 'other'"),
        ("Hy-MT2-7B", {"glossary_id": "terms", "source": "auto"}, "glossary_needs_source", "is for de to fr"),
        ("Hy-MT2-7B", {"glossary_id": "terms", "target": "en"}, "glossary_language_mismatch", "request is de to en"),
        ("Hy-MT2-7B", {"glossary_id": "terms", "glossary": GLOSSARY}, "invalid_features", "not both"),
        ("Hy-MT2-7B", {"glossary_id": "terms", "context": "x"}, "invalid_features", "asked for together"),
        ("Hunyuan-MT-7B", {"glossary_id": "terms"}, "unsupported_feature", "no glossary template"),
    ],
    ids=["unknown", "detected-source", "other-target", "with-glossary", "with-context", "family-without-glossaries"],
)
async def test_a_glossary_id_that_does_not_fit_is_refused(fake, glossaries_file, model, fields, code, words):
    fake.behaviour.model = model
    body = {"text": "Hunyuan ist schnell.", "target": "fr", "source": "de", **fields}
    response = await _post(fake, body, glossaries_file=glossaries_file)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code and words in response.json()["error"]["message"]
    assert fake.chat_requests() == []


@pytest.mark.anyio
async def test_hy_mt2_30b_a3b_is_sent_its_own_sampling(fake):
    fake.behaviour.model = "Hy-MT2-30B-A3B"
    assert (await _post(fake, {"text": "Hallo", "target": "fr", "source": "de"})).status_code == 200
    [sent] = fake.chat_requests()
    assert (sent["temperature"], sent["top_p"], sent["top_k"], sent["repetition_penalty"]) == (0.7, 1.0, -1, 1.0)


@pytest.mark.anyio
async def test_context_reaches_a_renamed_hy_mt15_model_once_its_family_is_set(fake):
    fake.behaviour.model = "translator"
    body = {"text": "It is cold.", "target": "zh", "source": "en", "context": "A weather report."}
    refused = await _post(fake, body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "unsupported_feature"
    assert "not in the model catalogue and no model family is set" in refused.json()["error"]["message"]
    response = await _post(fake, body, model_family="hy-mt1.5")
    assert response.status_code == 200, response.text
    [sent] = fake.chat_requests()
    assert sent["messages"][0]["content"] == (
        "A weather report.\n参考上面的信息，把下面的文本翻译成中文，注意不需要翻译上文，也不要额外解释：\nIt is cold.\n"
    )


@pytest.mark.parametrize(
    ("model", "field", "having"),
    [
        ("Hunyuan-MT-7B", {"glossary": GLOSSARY}, "hy-mt1.5, hy-mt2"),
        ("HY-MT1.5-7B", {"style": "formal"}, "hy-mt2"),
        ("HY-MT1.5-7B", {"format": "json"}, "hy-mt2"),
        ("HY-MT1.5-1.8B", {"delimiters": True}, "hy-mt2"),
    ],
)
@pytest.mark.anyio
async def test_a_feature_the_family_lacks_is_refused_with_422_naming_the_families_that_have_it(
    fake, model, field, having
):
    fake.behaviour.model = model
    response = await _post(fake, {"text": "Hello", "target": "fr", "source": "en", **field})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unsupported_feature"
    assert f"the model families that have one: {having}" in error["message"]
    assert fake.chat_requests() == []  # never sent in a template the model was not trained on


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ({"glossary": GLOSSARY, "context": "x"}, "Glossary and context were asked for together"),
        ({"glossary": [{"source": "a", "target": " "}]}, "Glossary pair 1 has an empty term"),
        ({"glossary": [{"source": "a", "target": "b"}] * 101}, "at most 100 are sent"),
        ({"context": "x" * 2001}, "The context has 2001 characters; at most 2000"),
        ({"style": "a\u0007"}, "control character U+0007"),
    ],
)
@pytest.mark.anyio
async def test_bad_features_get_a_clear_422(fake, field, said):
    fake.behaviour.model = "Hy-MT2-7B"
    response = await _post(fake, {"text": "Hello", "target": "fr", "source": "en", **field})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_features"
    assert said in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ({"glossary": [{"source": "a"}]}, "'glossary[0].target' is missing"),
        (
            {"glossary": [{"source": "a", "target": "b", "note": "c"}]},
            "'glossary[0].note' is not a field (send only source, target)",
        ),
        ({"format": "xml"}, "Unknown format 'xml'; use one of: text, json"),
        ({"glossary": "a=b"}, "'glossary' is not valid"),
    ],
)
@pytest.mark.anyio
async def test_malformed_feature_fields_get_a_clear_422(fake, field, said):
    fake.behaviour.model = "Hy-MT2-7B"
    response = await _post(fake, {"text": "Hello", "target": "fr", "source": "en", **field})
    assert response.status_code == 422
    assert said in response.json()["error"]["message"]


@pytest.mark.anyio
async def test_structured_data_goes_whole_and_a_lost_key_comes_back_as_a_warning(fake):
    fake.behaviour.model = "Hy-MT2-7B"
    source = '{\n  "title": "Welcome {name}",\n  "body": "Read more"\n}'
    fake.behaviour.reply = lambda prompt: '{\n  "titre": "Bienvenue {name}",\n  "body": "Lire la suite"\n}'
    response = await _post(fake, {"text": source, "target": "fr", "source": "en", "format": "json"})
    assert response.status_code == 200, response.text
    [sent] = fake.chat_requests()  # one request for the whole document, never split in lines
    assert sent["messages"][0]["content"].endswith("### Source Data\n" + source)
    assert response.json()["warnings"] == ["the keys of $ changed: lost ['title'], gained ['titre']"]


@pytest.mark.anyio
async def test_a_translation_that_keeps_everything_has_no_warnings_field(fake):
    fake.behaviour.model = "Hy-MT2-7B"
    fake.behaviour.reply = lambda prompt: '{"title": "Bienvenue {name}"}'
    response = await _post(fake, {"text": '{"title": "Welcome {name}"}', "target": "fr", "format": "json"})
    assert response.status_code == 200, response.text
    assert "warnings" not in response.json()


@pytest.mark.anyio
async def test_a_lost_placeholder_in_plain_text_is_a_warning_in_the_stream_too(fake):
    fake.behaviour.reply = lambda prompt: "Bonjour"
    response = await _post(fake, {"text": "Hello %s", "target": "fr", "source": "en"}, "/api/translate/stream")
    done = parse_events(response.text)[-1]
    assert done[0] == "done"
    assert done[1]["warnings"] == ["the placeholder %s appears once in the source but 0 times in the translation"]


@pytest.mark.anyio
async def test_structured_data_too_long_for_one_request_is_refused(fake):
    fake.behaviour.model = "Hy-MT2-7B"
    text = json.dumps({f"k{i}": "word " * 20 for i in range(40)})
    response = await _post(fake, {"text": text, "target": "fr", "source": "en", "format": "json"}, chunk_tokens=200)
    assert response.status_code == 413
    assert "one request" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("text", "target", "other"),
    [("你好，世界。今天天气很好。", "zh", "English"), ("Le chat est sur la table.", "fr", "Chinese")],
)
@pytest.mark.anyio
async def test_text_detected_in_the_target_language_gets_a_422_that_says_what_to_do(fake, text, target, other):
    response = await _post(fake, {"text": text, "target": target})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "same_language"
    assert f"choose another target language (e.g. {other}), or give the source language" in error["message"]
    assert fake.chat_requests() == []
    # Naming the source (the detection was wrong) translates it.
    assert (await _post(fake, {"text": text, "target": target, "source": "ja"})).status_code == 200


@pytest.mark.anyio
async def test_the_schema_documents_the_fields_and_their_limits(fake):
    async with gateway(settings_for(fake)) as client:
        schema = (await client.get("/api/openapi.json")).json()
    request = schema["components"]["schemas"]["TranslateRequest"]["properties"]
    assert request["glossary"]["maxItems"] == 100
    assert request["context"]["maxLength"] == 2000 and request["style"]["maxLength"] == 200
    assert request["format"]["enum"] == ["text", "json", "yaml", "markdown", "html"]
    term = schema["components"]["schemas"]["GlossaryTerm"]
    assert term["required"] == ["source", "target"] and term["properties"]["source"]["maxLength"] == 200
    assert "warnings" in schema["components"]["schemas"]["Translation"]["properties"]


def test_the_model_family_setting_is_read_and_checked():
    settings = Settings.from_env({"HYMT_SERVED_MODEL": "translator", "HYMT_MODEL_FAMILY": "HY-MT2"})
    assert settings.model_profile.family == "hy-mt2"
    with pytest.raises(SettingsError) as unknown:
        Settings.from_env({"HYMT_SERVED_MODEL": "translator", "HYMT_MODEL_FAMILY": "gpt"})
    assert "HYMT_MODEL_FAMILY='gpt': unknown model family 'gpt'; use one of: hunyuan-mt, hy-mt1.5, hy-mt2" in str(
        unknown.value
    )
    with pytest.raises(SettingsError) as conflict:
        Settings.from_env({"HYMT_SERVED_MODEL": "Hy-MT2-7B", "HYMT_MODEL_FAMILY": "hy-mt1.5"})
    assert "the catalogue's tencent/Hy-MT2-7B, of the hy-mt2 family" in str(conflict.value)
