"""Fuzzing the gateway in-process against the stand-in upstream (tests/support/fake_openai.py): Schemathesis sends
what the OpenAPI schema describes (and what it forbids), Hypothesis sends text made of the characters that broke or
could break it. No answer may be a server error; a valid text must come back translated with its layout.

The stand-in echoes the text it was asked to translate, so "translated correctly" here means: every character the
user sent reached the model, in order, and came back in place (the model's own quality is not under test).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hymt.core.detect import detect_language
from hymt.core.text import WORD_JOINER
from hymt.rehearsal.spec import SPECIAL_TOKENS
from hymt_web import Settings, create_app
from tests.support.fake_openai import FakeOpenAI, running
from tests.support.web_deployment import SHARED_BY_TESTS
from tests.web.conftest import parse_events, settings_for, source_of

# Small texts keep each example fast; the limits are the app's, loose enough that fuzzing is never throttled.
MAX_CHARS = 400
LOOSE = {**SHARED_BY_TESTS, "client_rate": 10**6, "max_chars": MAX_CHARS}


@pytest.fixture(scope="module")
def echo_upstream() -> Iterator[FakeOpenAI]:
    with running(reply=source_of) as fake:
        yield fake


@pytest.fixture(scope="module")
def fuzzed_app(echo_upstream: FakeOpenAI) -> FastAPI:
    return create_app(settings_for(echo_upstream, **LOOSE))


# The schema is read from an app made at import (Schemathesis's from_fixture does not run on this pytest); the calls go
# to `fuzzed_app`, which has the same settings but for the stand-in upstream's address, known only once it runs.
schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(Settings(**LOOSE)))


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_the_schema_allows_or_forbids_gets_a_server_error(case, fuzzed_app):
    case.call_and_validate(
        app=fuzzed_app,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


# -- Hypothesis: the characters that matter --------------------------------------------------------------------------
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
controls = st.characters(categories=["Cc"])
rtl = st.one_of(
    st.characters(min_codepoint=0x0590, max_codepoint=0x06FF),  # Hebrew, Arabic
    st.sampled_from(["\u200e", "\u200f", "\u202b", "\u202e", "\u2066", "\u2069"]),  # direction marks and overrides
)
four_byte = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=["Cs", "Co", "Cn"])
tokens = st.sampled_from([*SPECIAL_TOKENS, "<|", "|>", "<｜", "<|extra_0", "<<||>>"])
ordinary = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20)
layout = st.sampled_from(["\n", "\r\n", "\n\n", "\t", "  ", "\r"])
texts = st.lists(
    st.one_of(ordinary, rtl, four_byte, tokens, layout, controls, surrogates), min_size=1, max_size=25
).map("".join)


def expected_refusal(text: str) -> str | None:
    """The error code the gateway must answer for `text`, or None when it must translate it (written out here, not
    borrowed from the gateway's code)."""
    if not text.strip():
        return "empty_text"
    if len(text) > MAX_CHARS:
        return "text_too_long"
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF or (unicodedata.category(char) == "Cc" and char not in "\t\n\r"):
            return "invalid_text"
    # The target is "fr": text the core's detector takes for French is refused as already in the target language.
    if detect_language(text) == "fr":
        return "same_language"
    return None


@pytest.fixture(scope="module")
def client(echo_upstream: FakeOpenAI) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(echo_upstream, **LOOSE))) as test_client:
        yield test_client


@pytest.mark.parametrize("route", ["/api/translate", "/api/translate/stream"])
@given(text=texts)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_gets_its_translation_or_a_clear_4xx(client, route, text):
    # ensure_ascii: JSON's \u escapes carry even a lone surrogate (UTF-8 could not), as a hostile client would send it.
    body = json.dumps({"text": text, "target": "fr"}).encode()
    response = client.post(route, content=body, headers={"Content-Type": "application/json"})
    # What JSON says was sent: a high surrogate escape followed by a low one is one character beyond U+FFFF.
    text = json.loads(body)["text"]
    refusal = expected_refusal(text)
    if refusal is not None:
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["code"] == refusal
        return
    assert response.status_code == 200, response.text
    if route.endswith("stream"):
        events = parse_events(response.text)
        assert events[-1][0] == "done", events
        translation = events[-1][1]["translation"]
        assert "".join(data["text"] for kind, data in events if kind == "delta") == translation
    else:
        translation = response.json()["translation"]
    # Every character came back in place; a control token only with its word joiner, so never as a token.
    assert translation == text.replace("<|", "<" + WORD_JOINER + "|").replace("<｜", "<" + WORD_JOINER + "｜")
    assert not any(token in translation for token in SPECIAL_TOKENS)
