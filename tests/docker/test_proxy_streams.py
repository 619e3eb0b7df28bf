"""Translations through the stack's proxy (compose/Caddyfile in the pinned Caddy image, in front of the gateway): a
stream reaches the client as it is written, a client that leaves a stream frees its place behind the proxy too, and
the compatible APIs (docs/compat.md) reach the app through it with their own clients.

The proxy streams without `flush_interval -1` (docs/reliability.md, "The proxy": in that mode Caddy now and then cut
an answer short): Caddy passes an event stream on as it arrives by itself, which the first test holds it to."""

from __future__ import annotations

import httpx
import pytest

from tests.support.caddy import bridge_gateway, caddy_in_front
from tests.support.fake_openai import running
from tests.support.gateway import serving
from tests.support.net import wait_until
from tests.support.web_deployment import gateway_settings

pytestmark = pytest.mark.docker

BODY = {"text": "Hello", "target": "fr", "source": "en"}


def test_a_stream_reaches_the_client_through_the_proxy_while_the_model_still_writes(docker_engine, tmp_path):
    # After its first piece the model falls silent: a proxy that buffered would hold that piece back.
    with (
        running(stall_stream_after=1) as fake,
        serving(gateway_settings(fake), host=bridge_gateway()) as url,
        caddy_in_front(url, tmp_path) as (_, front),
        httpx.Client(base_url=front, timeout=10, trust_env=False) as client,
        client.stream("POST", "/api/translate/stream", json=BODY) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines) == "event: delta"
        assert next(lines).startswith("data: ")


def test_a_client_that_leaves_a_stream_frees_its_place_behind_the_proxy(docker_engine, tmp_path):
    with (
        running(chunk_delay=0.05, reply=lambda prompt: "word " * 400) as fake,  # about 100 s at this pace
        serving(gateway_settings(fake), host=bridge_gateway()) as url,
        caddy_in_front(url, tmp_path) as (_, front),
        httpx.Client(timeout=10, trust_env=False) as client,
    ):
        with client.stream("POST", f"{front}/api/translate/stream", json=BODY) as response:
            assert next(response.iter_lines()) == "event: delta"
        # The client closed its connection to the proxy mid-stream.
        wait_until(lambda: fake.streams_cancelled == 1, "the upstream stream to be cancelled", timeout=10)
        assert fake.streams_completed == 0
        wait_until(
            lambda: "hymt_web_translations_in_flight 0.0" in client.get(f"{url}/metrics").text,
            "the gateway to free the place",
            timeout=5,
        )


def test_the_compatible_apis_reach_the_app_through_the_proxy_with_their_own_clients(docker_engine, tmp_path):
    """The stack's Caddyfile forwards an allowlist of paths: DeepL's and LibreTranslate's own clients get through it
    (docs/compat.md), and a path outside the list still gets the proxy's 404."""
    import hashlib
    import json

    import deepl
    from libretranslatepy import LibreTranslateAPI

    key = "compat-through-proxy-5e0c1f"
    keys = tmp_path / "access_keys"
    keys.write_text(f"{hashlib.sha256(key.encode()).hexdigest()} tester\n", encoding="utf-8")
    glossaries = tmp_path / "glossaries.json"
    entries = [{"source": "gateway", "target": "Gateway"}]
    glossaries.write_text(json.dumps({"terms": {"source_lang": "en", "target_lang": "de", "entries": entries}}))
    (tmp_path / "proxy").mkdir()
    with (
        running() as fake,
        serving(
            gateway_settings(
                fake, access_keys_file=str(keys), compat_apis="deepl,libretranslate", glossaries_file=str(glossaries)
            ),
            host=bridge_gateway(),
        ) as url,
        caddy_in_front(url, tmp_path / "proxy") as (_, front),
    ):
        translator = deepl.Translator(key, server_url=front)
        deepl_answer = translator.translate_text("Good morning.", target_lang="DE")
        listed = [glossary.name for glossary in translator.list_glossaries()]
        libre = LibreTranslateAPI(front + "/", api_key=key)
        libre_answer = libre.translate("Good morning.", "en", "fr")
        codes = {language["code"] for language in libre.languages()}
        outside = httpx.post(f"{front}/v1/chat/completions", json={}, timeout=10, trust_env=False)
    assert deepl_answer.text == "German translation of: Good morning."
    assert listed == ["terms"]
    assert libre_answer == "French translation of: Good morning."
    assert {"en", "fr", "zh"} <= codes
    assert outside.status_code == 404 and outside.text == "Not found"
