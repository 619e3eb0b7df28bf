"""Every error the gateway answers: the status, a stable code and a message in words, never a traceback."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from hymt_web import Settings
from tests.support.net import free_port
from tests.web.conftest import gateway, settings_for

pytestmark = pytest.mark.anyio

ROUTES = ["/api/translate", "/api/translate/stream"]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert message and "Traceback" not in message and "pydantic" not in message.lower()
    return body["error"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"text": "", "target": "fr"}, "empty_text", "no text"),
        ({"text": " \n\t ", "target": "fr"}, "empty_text", "no text"),
        ({"text": "Hi", "target": "xx"}, "unknown_language", "'xx'"),
        ({"text": "Hi", "target": "fr", "source": "klingon"}, "unknown_language", "'klingon'"),
        ({"text": "Hi", "target": "auto"}, "unknown_language", "target"),
        ({"text": "Hi", "target": "EN", "source": "en"}, "same_language", "both English"),
        ({"target": "fr"}, "invalid_request", "'text' is missing"),
        ({"text": "Hi"}, "invalid_request", "'target' is missing"),
        ({"text": 5, "target": "fr"}, "invalid_request", "'text' must be a string"),
        (["Hi", "fr"], "invalid_request", "JSON object"),
    ],
)
async def test_bad_requests_get_422_in_plain_words(fake, route, body, code, words):
    async with gateway(settings_for(fake)) as client:
        response = await client.post(route, json=body)
    error = assert_error(response, 422, code)
    assert words in error["message"]
    assert fake.chat_requests() == []  # nothing reached the model


async def test_a_body_that_is_not_json_gets_422(fake):
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", content=b"text=hi", headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_error(response, 422, "invalid_request")["message"]


@pytest.mark.parametrize("route", ROUTES)
async def test_text_over_the_limit_gets_413_and_text_at_the_limit_passes(fake, route):
    async with gateway(settings_for(fake, max_chars=10)) as client:
        too_long = await client.post(route, json={"text": "翻" * 11, "target": "en"})
        at_limit = await client.post(route, json={"text": "翻" * 10, "target": "en"})
    assert "limit is 10" in assert_error(too_long, 413, "text_too_long")["message"]
    assert at_limit.status_code == 200


async def test_a_body_declared_far_too_large_is_refused_before_it_is_read(fake):
    async def endless_body():
        yield b'{"text": "'
        await asyncio.sleep(3600)  # were the gateway reading the body, the test would stop here

    async with gateway(settings_for(fake, max_chars=10)) as client:
        with anyio.fail_after(10):
            response = await client.post(
                "/api/translate",
                content=endless_body(),
                headers={"Content-Type": "application/json", "Content-Length": "100000000"},
            )
    assert "far larger" in assert_error(response, 413, "text_too_long")["message"]


@pytest.mark.parametrize("route", ROUTES)
async def test_the_in_flight_cap_answers_429_with_retry_after_and_frees_up(fake, route):
    release = threading.Event()
    fake.behaviour.reply = lambda prompt: release.wait(10) and "done"
    async with gateway(settings_for(fake, max_in_flight=2)) as client:
        body = {"text": "Hello", "target": "fr"}
        first = [asyncio.create_task(client.post(route, json=body)) for _ in range(2)]
        while len(fake.chat_requests()) < 2:  # both are at the model now
            await asyncio.sleep(0.01)
        refused = await client.post(route, json=body)
        release.set()
        answered = await asyncio.gather(*first)
        after = await client.post(route, json=body)
    error = assert_error(refused, 429, "too_many_requests")
    assert refused.headers["Retry-After"].isdigit()
    assert "Try again" in error["message"]
    assert [r.status_code for r in answered] == [200, 200]
    assert after.status_code == 200
    assert len(fake.chat_requests()) == 3  # the refused request never reached the model


@pytest.mark.parametrize("route", ROUTES)
async def test_an_upstream_error_gets_502(fake, route):
    fake.behaviour.fail_status = 500
    fake.behaviour.fail_count = -1
    async with gateway(settings_for(fake)) as client:
        response = await client.post(route, json={"text": "Hello", "target": "fr"})
    message = assert_error(response, 502, "upstream_error")["message"]
    assert "Try again" in message and "planned failure" not in message and "500" not in message


async def test_a_dropped_upstream_connection_gets_502(fake):
    fake.behaviour.drop_connection = 1
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
    assert "Try again" in assert_error(response, 502, "upstream_error")["message"]


async def test_a_model_the_upstream_does_not_serve_gets_502_and_the_log_names_the_setting(fake, caplog):
    async with gateway(settings_for(fake, served_model="some/other-model")) as client:
        response = await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
    message = assert_error(response, 502, "upstream_error")["message"]
    assert "some/other-model" not in message and "HYMT_" not in message and "log" in message
    assert "'some/other-model'" in caplog.text and "HYMT_SERVED_MODEL" in caplog.text


async def test_the_api_key_is_sent_and_a_refused_one_gets_502_and_the_log_names_the_setting(fake, caplog):
    fake.behaviour.api_key = "s3cret"
    async with gateway(settings_for(fake, api_key="s3cret")) as client:
        good = await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
    async with gateway(settings_for(fake, api_key="wrong")) as client:
        refused = await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
    assert good.status_code == 200
    assert "HYMT_" not in assert_error(refused, 502, "upstream_error")["message"]
    assert "s3cret" not in refused.text and "wrong" not in refused.text
    assert "HYMT_API_KEY" in caplog.text and "wrong" not in caplog.text


@pytest.mark.parametrize("route", ROUTES)
async def test_an_unreachable_upstream_gets_503_without_its_address(route, caplog):
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    async with gateway(Settings(upstream_url=closed, served_model="m")) as client:
        response = await client.post(route, json={"text": "Hello", "target": "fr"})
    message = assert_error(response, 503, "upstream_unreachable")["message"]
    assert "cannot be reached" in message and closed not in response.text and "127.0.0.1" not in response.text
    assert closed in caplog.text


async def test_an_upstream_that_is_not_ready_gets_503(fake):
    fake.behaviour.fail_status = 503
    fake.behaviour.fail_count = -1
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
    assert "not ready" in assert_error(response, 503, "upstream_not_ready")["message"]


@pytest.mark.parametrize("route", ROUTES)
async def test_an_upstream_that_does_not_answer_in_time_gets_504(fake, route):
    fake.behaviour.delay = 3
    async with gateway(settings_for(fake, read_timeout=0.3)) as client:
        response = await client.post(route, json={"text": "Hello", "target": "fr"})
    assert "too long" in assert_error(response, 504, "upstream_timeout")["message"]


async def test_a_translation_that_outlasts_the_request_timeout_gets_504(fake):
    fake.behaviour.delay = 0.4  # every piece answers within the read timeout, the whole text does not
    text = "\n\n".join(f"Line {n}." for n in range(6))
    async with gateway(settings_for(fake, chunk_concurrency=1, request_timeout=1)) as client:
        response = await client.post("/api/translate", json={"text": text, "target": "fr", "source": "en"})
    assert "the 1 seconds one translation may take" in assert_error(response, 504, "upstream_timeout")["message"]


async def test_unknown_addresses_and_methods_get_the_same_error_shape(fake):
    async with gateway(settings_for(fake)) as client:
        missing = await client.get("/api/nothing")
        wrong_method = await client.get("/api/translate")
    assert_error(missing, 404, "not_found")
    assert_error(wrong_method, 405, "method_not_allowed")
