"""POST /api/detect: the language a translation from "auto" would take, so that the page can switch a target that is
the text's own language before sending anything; the same text checks, access keys and a rate limit of its own."""

from __future__ import annotations

import pytest

from tests.web.conftest import gateway, settings_for
from tests.web.test_access import ALICE, keys_file  # noqa: F401  # keys_file is a fixture
from tests.web.test_errors import assert_error
from tests.web.test_fairness import app_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "source", "name"),
    [
        ("你好，世界。今天天气很好。", "zh", "Chinese"),
        ("Hello world, how are you today?", "en", "English"),
        ("Le chat est sur la table et il dort.", "fr", "French"),
        ("12345 67890", "auto", None),  # nothing to tell a language by
    ],
)
async def test_the_language_is_the_one_a_translation_from_auto_would_take(fake, text, source, name):
    async with gateway(settings_for(fake)) as client:
        detected = await client.post("/api/detect", json={"text": text})
        translated = await client.post("/api/translate", json={"text": text, "target": "de"})
    assert detected.status_code == 200
    assert detected.json() == {"source": source, "name": name}
    assert translated.json()["source"] == source
    assert len(fake.chat_requests()) == 1  # detecting never asks the model


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"text": "   "}, 422, "empty_text", "no text to translate"),
        ({"text": "x" * 5001}, 413, "text_too_long", "the limit is 5000"),
        ({"text": "bad\x00text"}, 422, "invalid_text", "control character"),
        ({"text": "Hello", "target": "zh"}, 422, "invalid_request", '{"text": "Hello"}'),
        ({}, 422, "invalid_request", "'text' is missing"),
    ],
)
async def test_text_a_translation_would_refuse_is_refused_in_words(fake, body, status, code, words):
    async with gateway(settings_for(fake, max_chars=5000)) as client:
        answer = await client.post("/api/detect", json=body)
    error = assert_error(answer, status, code)
    assert words in error["message"]


async def test_with_access_keys_detection_needs_one_too(fake, keys_file):  # noqa: F811
    async with app_for(settings_for(fake, access_keys_file=keys_file)) as connect:
        client = connect("198.51.100.7")
        missing = await client.post("/api/detect", json={"text": "Hello world, how are you today?"})
        keyed = await client.post(
            "/api/detect", json={"text": "Hello world, how are you today?"}, headers={"X-API-Key": ALICE}
        )
        schema = (await client.get("/api/openapi.json")).json()
    assert_error(missing, 401, "access_key_required")
    assert keyed.json()["source"] == "en"
    assert schema["paths"]["/api/detect"]["post"]["security"]


async def test_detection_has_its_own_allowance_and_leaves_the_translations_alone(fake):
    async with app_for(settings_for(fake, client_burst=2, client_rate=6)) as connect:
        client = connect("198.51.100.7")
        detections = [
            await client.post("/api/detect", json={"text": "Hello world, how are you today?"}) for _ in range(3)
        ]
        translations = [await client.post("/api/translate", json={"text": "Hello", "target": "fr"}) for _ in range(2)]
    assert [answer.status_code for answer in detections] == [200, 200, 429]
    assert int(detections[2].headers["Retry-After"]) > 0
    assert [answer.status_code for answer in translations] == [200, 200]  # a page's detections cost no translation


async def test_the_schema_describes_the_route_and_its_limit(fake):
    async with gateway(settings_for(fake, max_chars=1234)) as client:
        schema = (await client.get("/api/openapi.json")).json()
    route = schema["paths"]["/api/detect"]["post"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Detection"
    }
    assert {"401", "413", "422", "429"} <= set(route["responses"])
    assert schema["components"]["schemas"]["DetectRequest"]["properties"]["text"]["maxLength"] == 1234
    assert schema["components"]["schemas"]["Detection"]["required"] == ["source", "name"]
