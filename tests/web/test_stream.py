"""POST /api/translate/stream: server-sent events as the model writes, and a client that leaves stops the model."""

from __future__ import annotations

import math
import threading

import httpx
import pytest

from hymt.core.chunking import split_text
from tests.support.gateway import serving
from tests.support.net import wait_until
from tests.web.conftest import gateway, parse_events, settings_for, source_of
from tests.web.test_translate import LONG_TEXT

pytestmark = pytest.mark.anyio


async def test_deltas_then_done_with_the_same_answer_as_translate(fake):
    fake.behaviour.chunk_delay = 0.01  # pieces one at a time, as a model writes them (not all in one read)
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate/stream", json={"text": "Bonjour le monde", "target": "en"})
        plain = (await client.post("/api/translate", json={"text": "Bonjour le monde", "target": "en"})).json()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"}
    assert len(kinds) > 3  # the model's pieces are passed on one by one, not collected first
    deltas = "".join(data["text"] for kind, data in events if kind == "delta")
    done = events[-1][1]
    assert deltas == done["translation"] == "English translation of: Bonjour le monde"
    # The same Translation, and how many pieces the model streamed (the stand-in: one per 4 characters); the plain
    # answer has the model server's count of the same tokens instead.
    assert done.pop("pieces") == math.ceil(len(done["translation"]) / fake.behaviour.chunk_chars)
    assert plain.pop("output_tokens") == math.ceil(len(plain["translation"]) / fake.behaviour.chunk_chars)
    assert set(done) == set(plain) and {k: v for k, v in done.items() if k != "elapsed_ms"} == {
        k: v for k, v in plain.items() if k != "elapsed_ms"
    }
    assert [body["stream"] for body in fake.chat_requests()] == [True, False]


async def test_pieces_that_arrive_together_go_out_as_one_event_with_the_same_text(fake):
    # The model server's pieces reach the gateway three at a time (a busy gateway reads several in one go): the client
    # gets one event for each batch, the same text joined, and the done event still counts every piece.
    fake.behaviour.pieces_per_write = 3
    fake.behaviour.keep_alive = True
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate/stream", json={"text": "Bonjour le monde", "target": "en"})
    events = parse_events(response.text)
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    translation = "English translation of: Bonjour le monde"
    pieces = math.ceil(len(translation) / fake.behaviour.chunk_chars)
    assert "".join(deltas) == events[-1][1]["translation"] == translation
    assert events[-1][1]["pieces"] == pieces
    # Never more events than the model server's writes (one event per piece would be `pieces`); fewer when a busy
    # machine delivers several writes at once, which are joined too.
    assert len(deltas) <= math.ceil(pieces / 3)
    assert deltas[0].startswith(translation[: 3 * fake.behaviour.chunk_chars])


async def test_streams_one_after_another_share_one_connection_to_the_model_server(fake):
    # A stream read to its very end (past `data: [DONE]`) leaves its connection in the pool: the next translation
    # does not pay for a new one.
    fake.behaviour.keep_alive = True
    fake.behaviour.end_delay = 0.01  # the body's end comes after [DONE] has been read
    async with gateway(settings_for(fake)) as client:
        for _ in range(3):
            response = await client.post("/api/translate/stream", json={"text": "Bonjour le monde", "target": "en"})
            assert parse_events(response.text)[-1][0] == "done"
    ports = {r.client_port for r in fake.requests if r.path == "/v1/chat/completions"}
    assert len(fake.chat_requests()) == 3 and len(ports) == 1


async def test_a_long_text_streams_in_order_with_its_line_breaks(fake):
    fake.behaviour.reply = lambda prompt: "  " + source_of(prompt).upper() + " \n"  # stray spaces are trimmed
    settings = settings_for(fake, chunk_tokens=12)
    async with gateway(settings) as client:
        response = await client.post("/api/translate/stream", json={"text": LONG_TEXT, "target": "de", "source": "en"})
    events = parse_events(response.text)
    assert len(fake.chat_requests()) == len(split_text(LONG_TEXT, settings.chunk_tokens).segments)
    deltas = "".join(data["text"] for kind, data in events if kind == "delta")
    assert events[-1][0] == "done"
    assert deltas == events[-1][1]["translation"] == LONG_TEXT.upper()


async def test_a_model_failing_before_the_first_piece_gets_a_real_http_status(fake):
    fake.behaviour.fail_status = 500
    fake.behaviour.fail_count = -1
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate/stream", json={"text": "Hello", "target": "fr"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


async def test_a_stream_that_stalls_midway_ends_with_an_error_event(fake):
    fake.behaviour.stall_stream_after = 2  # then only keep-alive comments: alive, but no translation
    async with gateway(settings_for(fake, request_timeout=1)) as client:
        response = await client.post("/api/translate/stream", json={"text": "Hello there", "target": "fr"})
        in_flight_after = client.app.state.admission.count
    assert response.status_code == 200
    events = parse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "error" and set(kinds[:-1]) == {"delta"}  # one event, or two: pieces read together are joined
    assert "".join(data["text"] for kind, data in events if kind == "delta") == "French t"  # the two pieces sent
    assert events[-1][1]["code"] == "upstream_timeout"
    assert events[-1][1]["message"]
    assert in_flight_after == 0


async def test_a_model_stream_cut_off_without_its_end_is_an_error_not_a_short_translation(fake):
    # vLLM went away after one piece: no finish_reason, no [DONE]. The client must not get "done" with half a text.
    fake.behaviour.reply = lambda prompt: "abcdefghijkl"
    fake.behaviour.drop_stream_after = 1
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate/stream", json={"text": "Hello there", "target": "fr"})
    events = parse_events(response.text)
    assert [kind for kind, _ in events] == ["delta", "error"]
    assert events[-1][1]["code"] == "upstream_error"


def test_pieces_reach_the_client_while_the_model_is_still_writing(fake):
    # The model sends two pieces and then nothing: only a pass-through gateway can deliver them.
    fake.behaviour.stall_stream_after = 2
    with serving(settings_for(fake)) as url, httpx.Client(base_url=url, timeout=10) as client:
        body = {"text": "Hello there", "target": "fr"}
        with client.stream("POST", "/api/translate/stream", json=body) as response:
            lines = response.iter_lines()
            received = [next(lines) for _ in range(5)]  # event, data, blank, event, data
    assert received[0] == received[3] == "event: delta"
    assert received[1].startswith("data: ") and received[4].startswith("data: ")


@pytest.mark.parametrize("upstream", ["writing slowly", "silent"])
def test_a_client_that_leaves_cancels_its_upstream_request(fake, upstream):
    if upstream == "silent":
        fake.behaviour.stall_stream_after = 1
    else:
        fake.behaviour.chunk_delay = 0.05
        fake.behaviour.reply = lambda prompt: "word " * 400  # about 100 s at this pace
    settings = settings_for(fake)
    with serving(settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("POST", "/api/translate/stream", json={"text": "Hello", "target": "fr"}) as response:
            assert next(response.iter_lines()) == "event: delta"
        # Leaving the block closed the connection mid-stream.
        wait_until(lambda: fake.streams_cancelled == 1, "the upstream stream to be cancelled")
        assert fake.streams_completed == 0
        metrics = client.get("/metrics").text
    assert "hymt_web_translations_in_flight 0.0" in metrics


def test_a_client_that_leaves_before_the_first_piece_frees_its_place_and_cancels_upstream(fake):
    # The model accepted the request and says nothing (keep-alive comments only): no piece, no HTTP status yet.
    fake.behaviour.stall_stream_after = 0
    with serving(settings_for(fake, max_in_flight=1)) as url, httpx.Client(base_url=url, timeout=10) as client:
        with pytest.raises(httpx.ReadTimeout):  # the client gives up before the answer's headers
            client.post("/api/translate/stream", json={"text": "Hello", "target": "fr"}, timeout=0.5)
        wait_until(lambda: fake.streams_cancelled == 1, "the silent upstream stream to be cancelled")
        assert fake.streams_completed == 0
        wait_until(lambda: "hymt_web_translations_in_flight 0.0" in client.get("/metrics").text, "the place freed")
        # With a cap of one, a new translation gets through only because the place was freed.
        fake.behaviour.stall_stream_after = None
        assert client.post("/api/translate/stream", json={"text": "Hello", "target": "fr"}).status_code == 200


def test_a_client_that_gives_up_on_a_plain_translation_frees_its_place_at_once(fake):
    release = threading.Event()
    fake.behaviour.reply = lambda prompt: release.wait(30) and "late"
    try:
        with serving(settings_for(fake, max_in_flight=1)) as url, httpx.Client(base_url=url, timeout=10) as client:
            with pytest.raises(httpx.ReadTimeout):  # the client gives up while the model still works
                client.post("/api/translate", json={"text": "Hello", "target": "fr"}, timeout=0.5)

            def freed() -> bool:
                metrics = client.get("/metrics").text
                return 'hymt_web_requests_total{method="POST",route="/api/translate",status="499"} 1.0' in metrics

            wait_until(freed, "the abandoned translation to be given up")
            assert not release.is_set()  # the model never answered: the gateway let go by itself
            fake.behaviour.reply = lambda prompt: "Bonjour"
            # With a cap of one, a new translation gets through only because the place was freed.
            assert client.post("/api/translate", json={"text": "Hello", "target": "fr"}).status_code == 200
    finally:
        release.set()
