"""The SDK against a real HTTP server (the fake OpenAI server): payloads, streams, concurrency, retries, errors.

Waits between retries are recorded instead of slept, and timeouts are tiny, so the suite stays fast; no test
asserts how long anything took.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from hymt.core.prompts import SAMPLING, max_tokens_for
from hymt.sdk import (
    ClientSettings,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    ServerUnreachable,
    StreamInterrupted,
    Timeout,
    Translation,
    TranslationClient,
    Translator,
    Unauthorized,
    UpstreamError,
)
from hymt.sdk.settings import DEFAULT_MODEL, DEFAULT_URL
from tests.support.clients import closing_factory
from tests.support.fake_openai import FakeOpenAI

ENGLISH_PROMPT = "Translate the following segment into {}, without additional explanation.\n\n{}"


@pytest.fixture
def make_client(fake: FakeOpenAI, sleeps: list[float]):
    def build(**settings: object) -> TranslationClient:
        settings.setdefault("base_url", fake.url)
        return TranslationClient(ClientSettings(**settings), sleep=sleeps.append, jitter=lambda: 0.5)

    yield from closing_factory(build)


def closed_port_url() -> str:
    """A URL where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def unaccepting_url() -> Iterator[str]:
    """A URL whose listener never accepts and whose backlog is full: connecting there times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # the connection completes in the backlog, never accepted
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}/v1"
    for sock in (*fillers, listener):
        sock.close()


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# -- what is sent ------------------------------------------------------------------------------------------------------
def test_translate_sends_exactly_the_hunyuan_request(fake, make_client):
    text = "Bonjour le monde"
    result = make_client().translate(text, "en", "fr")
    assert fake.chat_requests() == [
        {
            "model": "Hunyuan-MT-7B",
            "messages": [{"role": "user", "content": ENGLISH_PROMPT.format("English", text)}],
            "max_tokens": max_tokens_for(text),
            "stream": False,
            **SAMPLING.as_params(),  # Tencent's (tests/unit/test_prompts.py pins the values)
        }
    ]
    assert result.text == "English translation of: Bonjour le monde"
    assert (result.source, result.target, result.model, result.segments) == ("fr", "en", "Hunyuan-MT-7B", 1)
    assert result.elapsed >= 0
    assert result.truncated is False


def test_api_key_goes_in_the_bearer_header(fake, make_client):
    fake.behaviour.api_key = "s3cret"
    make_client(api_key="s3cret").translate("Hallo", "en", "de")
    assert fake.requests[-1].headers["Authorization"] == "Bearer s3cret"


def test_no_api_key_no_authorization_header(fake, make_client):
    make_client().translate("Hallo", "en", "de")
    assert "Authorization" not in fake.requests[-1].headers


def test_the_served_model_name_is_sent(fake, make_client):
    fake.behaviour.model = "translator"
    make_client(model="translator").translate("Hallo", "en", "de")
    assert fake.chat_requests()[0]["model"] == "translator"


def test_hy_mt15_models_get_their_own_chinese_template(fake, make_client):
    fake.behaviour.model = "HY-MT1.5-7B"
    make_client(model="HY-MT1.5-7B").translate("早上好", "en")
    assert fake.chat_requests()[0]["messages"][0]["content"] == (
        "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n早上好"
    )


def test_the_family_can_be_set_when_the_served_name_hides_it(fake, make_client):
    fake.behaviour.model = "translator"
    make_client(model="translator", family="hy-mt1.5").translate("早上好", "en")
    assert fake.chat_requests()[0]["messages"][0]["content"].startswith("将以下文本翻译为英语")


def test_detected_source_is_reported_and_picks_the_template(fake, make_client):
    client = make_client()
    assert client.translate("今天天气很好", "en").source == "zh"
    assert fake.chat_requests()[-1]["messages"][0]["content"].startswith("把下面的文本翻译成英语")
    assert client.translate("OK", "fr").source == "auto"


def test_codes_are_canonicalised_in_the_result(make_client):
    result = make_client().translate("Hello", "ZH_hant", "EN")
    assert (result.source, result.target) == ("en", "zh-Hant")


def test_an_injected_session_is_used(fake):
    class CountingSession(requests.Session):
        calls = 0

        def request(self, *args, **kwargs):
            CountingSession.calls += 1
            return super().request(*args, **kwargs)

    session = CountingSession()
    session.headers["X-Test"] = "injected"
    with TranslationClient(ClientSettings(base_url=fake.url), session=session) as client:
        client.translate("Hallo", "en", "de")
    assert CountingSession.calls == 1
    assert fake.requests[-1].headers["X-Test"] == "injected"
    session.get(fake.root + "/health").raise_for_status()  # the client left the caller's session open


def test_the_client_satisfies_the_translator_interface(make_client):
    assert isinstance(make_client(), Translator)


def test_json_form_of_a_result():
    result = Translation("Bonjour", "en", "fr", "Hunyuan-MT-7B", elapsed=1.2345)
    assert result.as_json() == {
        "translation": "Bonjour",
        "source": "en",
        "target": "fr",
        "model": "Hunyuan-MT-7B",
        "elapsed_ms": 1234,
    }


# -- long texts --------------------------------------------------------------------------------------------------------
def test_a_long_text_is_split_translated_and_reassembled_in_order(fake, make_client):
    text = "  First paragraph.\n\nSecond paragraph.\r\n\r\n\tThird one.\n"
    result = make_client(chunk_budget=10).translate(text, "de", "en")
    assert result.text == (
        "  German translation of: First paragraph.\n\n"
        "German translation of: Second paragraph.\r\n\r\n"
        "\tGerman translation of: Third one.\n"
    )
    assert result.segments == 3
    assert len(fake.chat_requests()) == 3


def test_lines_the_model_merged_are_translated_again_one_by_one(fake, make_client):
    fake.behaviour.reply = lambda prompt: " ".join(prompt.partition("\n\n")[2].split("\n"))  # joins its lines
    text = "Roses are red,\nviolets are blue.\n\nSugar is sweet\nand so are you."
    client = make_client()
    assert client.translate(text, "fr", "en").text == text
    assert "".join(client.stream(text, "fr", "en")) == text
    # Per call: two paragraphs as groups, then their four lines one by one.
    assert len(fake.chat_requests()) == 2 * (2 + 4)


def test_segments_are_translated_concurrently_and_kept_in_order(fake, make_client):
    all_in_flight = threading.Barrier(4, timeout=5)  # breaks (and the test fails) unless 4 requests overlap

    def reply(prompt: str) -> str:
        all_in_flight.wait()
        number = int(prompt.rsplit("line ", 1)[1])
        time.sleep(0.01 * (4 - number))  # the first lines answer last
        return f"Zeile {number}"

    fake.behaviour.reply = reply
    result = make_client(chunk_budget=10, max_workers=4).translate("line 1\n\nline 2\n\nline 3\n\nline 4", "de", "en")
    assert result.text == "Zeile 1\n\nZeile 2\n\nZeile 3\n\nZeile 4"


def test_every_request_of_a_long_text_fits_the_budget(fake, make_client):
    text = ("This sentence is here to fill the line. " * 200).strip()
    make_client(chunk_budget=100).translate(text, "de", "en")
    requests_sent = fake.chat_requests()
    assert len(requests_sent) > 1
    for body in requests_sent:
        source = body["messages"][0]["content"].split("\n\n", 1)[1]
        assert len(source) <= 300  # 100 tokens of ASCII
        assert body["max_tokens"] == max_tokens_for(source)


# -- many texts --------------------------------------------------------------------------------------------------------
def test_translate_many_runs_concurrently_and_keeps_order(fake, make_client):
    all_in_flight = threading.Barrier(4, timeout=5)

    def reply(prompt: str) -> str:
        all_in_flight.wait()
        number = int(prompt.rsplit("#", 1)[1])
        time.sleep(0.01 * (4 - number))
        return f"texte #{number}"

    fake.behaviour.reply = reply
    results = make_client().translate_many([f"text #{n}" for n in range(1, 5)], "fr", "en", max_workers=4)
    assert [r.text for r in results] == ["texte #1", "texte #2", "texte #3", "texte #4"]
    assert all(r.target == "fr" and r.source == "en" for r in results)


def test_translate_many_detects_each_source(make_client):
    results = make_client().translate_many(["今天天气很好", "오늘 날씨가 좋네요"], "en")
    assert [r.source for r in results] == ["zh", "ko"]


def test_translate_many_checks_every_text_before_sending_any(fake, make_client):
    with pytest.raises(InvalidRequest, match="text #2 is empty"):
        make_client().translate_many(["Hallo", "  ", "Welt"], "en", "de")
    assert fake.chat_requests() == []


def test_translate_many_of_nothing_is_nothing(make_client):
    assert make_client().translate_many([], "en") == []


def test_translate_many_refuses_a_single_string(make_client):
    with pytest.raises(InvalidRequest, match="list of texts"):
        make_client().translate_many("Hallo", "en")


def test_translate_many_raises_the_first_failure(fake, make_client):
    fake.behaviour.reply = lambda prompt: (_ for _ in ()).throw(RuntimeError) if "bad" in prompt else "ok"
    fake.behaviour.fail_status = None
    with pytest.raises(ServerUnreachable):
        make_client(retries=0).translate_many(["good", "bad", "good"], "fr", "en", max_workers=2)


# -- streams -----------------------------------------------------------------------------------------------------------
def test_stream_yields_the_deltas_as_the_server_sends_them(fake, make_client):
    answer = "Hello,world!How-are-you?"
    fake.behaviour.reply = lambda prompt: answer
    fake.behaviour.chunk_chars = 5
    stream = make_client().stream("Hallo Welt", "en", "de")
    assert list(stream) == ["Hello", ",worl", "d!How", "-are-", "you?"]
    assert fake.chat_requests()[0]["stream"] is True
    assert stream.result.text == answer
    assert (stream.result.source, stream.result.target, stream.result.model) == ("de", "en", "Hunyuan-MT-7B")
    assert fake.streams_completed == 1


def test_stream_and_translate_give_the_same_text(make_client):
    text = "  Erster Absatz.\n\nZweiter Absatz, etwas länger.\n"
    client = make_client(chunk_budget=8)
    assert "".join(client.stream(text, "en", "de")) == client.translate(text, "en", "de").text


def test_stream_drops_the_answers_surrounding_spaces(fake, make_client):
    fake.behaviour.reply = lambda prompt: "  \n Bonjour  le monde \n"
    fake.behaviour.chunk_chars = 1
    assert "".join(make_client().stream("Hello world", "fr", "en")) == "Bonjour  le monde"


def test_stream_checks_the_request_before_sending(fake, make_client):
    with pytest.raises(InvalidRequest):
        make_client().stream("Hello", "xx")
    assert fake.chat_requests() == []


def test_result_is_only_there_once_the_stream_is_read(make_client):
    stream = make_client().stream("Hello world", "fr", "en")
    next(stream)
    with pytest.raises(RuntimeError, match="not been read to its end"):
        _ = stream.result
    stream.close()


def test_closing_a_stream_early_ends_the_transfer(fake, make_client):
    fake.behaviour.reply = lambda prompt: "x" * 400
    fake.behaviour.chunk_delay = 0.01
    with make_client().stream("Hello world", "fr", "en") as stream:
        next(stream)
        next(stream)
    assert wait_for(lambda: fake.streams_cancelled == 1)
    assert fake.streams_completed == 0


def test_a_stream_is_retried_before_it_starts(fake, make_client, sleeps):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 503, 1
    assert "".join(make_client().stream("Hallo", "en", "de")) == "English translation of: Hallo"
    assert len(fake.chat_requests()) == 2
    assert len(sleeps) == 1


def test_a_stream_that_breaks_off_is_not_retried(fake, make_client, sleeps):
    fake.behaviour.reply = lambda prompt: "Hello,world!How-are-you?"
    fake.behaviour.chunk_chars = 4
    fake.behaviour.drop_stream_after = 2
    received = []
    with pytest.raises(StreamInterrupted) as caught:
        for piece in make_client().stream("Hallo Welt", "en", "de"):
            received.append(piece)
    assert received == ["Hell", "o,wo"]
    assert caught.value.delivered_chars == 8
    assert len(fake.chat_requests()) == 1
    assert sleeps == []
    assert "broke off after 8 characters" in str(caught.value)


def test_a_stream_that_stalls_times_out_and_is_not_retried(fake, make_client, sleeps):
    fake.behaviour.stall_stream_after = 1  # then only keep-alive comments
    received = []
    with pytest.raises(Timeout) as caught:
        for piece in make_client(read_timeout=0.2).stream("Hallo Welt", "en", "de"):
            received.append(piece)
    assert caught.value.phase == "stream"
    assert received == ["Engl"]
    assert len(fake.chat_requests()) == 1
    assert sleeps == []
    assert "stopped sending the translation within 0.2 s" in str(caught.value)


def test_a_stream_that_goes_silent_times_out(fake, make_client, sleeps):
    fake.behaviour.stall_stream_after = 1
    fake.behaviour.stall_keepalive = False  # a hung engine: no bytes at all
    with pytest.raises(Timeout) as caught:
        list(make_client(read_timeout=0.2).stream("Hallo Welt", "en", "de"))
    assert caught.value.phase == "stream"
    assert len(fake.chat_requests()) == 1
    assert sleeps == []


def test_an_answer_cut_at_max_tokens_is_flagged(fake, make_client):
    fake.behaviour.finish_reason = "length"
    client = make_client()
    assert client.translate("Hallo", "en", "de").truncated is True
    stream = client.stream("Hallo", "en", "de")
    list(stream)
    assert stream.result.truncated is True


# -- retries -----------------------------------------------------------------------------------------------------------
def test_503_is_retried_with_exponential_backoff(fake, make_client, sleeps):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 503, 2
    result = make_client(backoff_base=0.5).translate("Hallo", "en", "de")
    assert result.text == "English translation of: Hallo"
    assert len(fake.chat_requests()) == 3
    assert sleeps == [0.375, 0.75]  # half fixed, half jitter (0.5 here) of 0.5 s, then of 1 s


def test_429_is_retried_and_retry_after_is_honoured(fake, make_client, sleeps):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 429, 2
    fake.behaviour.fail_headers = {"Retry-After": "3"}
    assert make_client(backoff_base=0.5).translate("Hallo", "en", "de").text.startswith("English")
    assert sleeps == [3.0, 3.0]


def test_a_dropped_connection_is_retried(fake, make_client, sleeps):
    fake.behaviour.drop_connection = 2
    assert make_client().translate("Hallo", "en", "de").text == "English translation of: Hallo"
    assert len(fake.chat_requests()) == 3
    assert len(sleeps) == 2


def test_persistent_429_becomes_rate_limited(fake, make_client, sleeps):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 429, -1
    with pytest.raises(RateLimited) as caught:
        make_client(retries=2).translate("Hallo", "en", "de")
    assert len(fake.chat_requests()) == 3
    assert len(sleeps) == 2
    assert "429 after 3 attempts" in str(caught.value)
    assert "fewer texts at once" in caught.value.hint


def test_a_retry_after_beyond_the_limit_is_not_waited_for(fake, make_client, sleeps):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 429, -1
    fake.behaviour.fail_headers = {"Retry-After": "3600"}
    with pytest.raises(RateLimited) as caught:
        make_client(max_retry_after=60).translate("Hallo", "en", "de")
    assert caught.value.retry_after == 3600
    assert len(fake.chat_requests()) == 1
    assert sleeps == []


def test_persistent_503_says_the_server_is_not_ready(fake, make_client):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 503, -1
    with pytest.raises(UpstreamError) as caught:
        make_client(retries=1).translate("Hallo", "en", "de")
    assert caught.value.status == 503
    assert "/health" in caught.value.hint


def test_other_errors_are_not_retried(fake, make_client, sleeps):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 500, 1
    with pytest.raises(UpstreamError) as caught:
        make_client().translate("Hallo", "en", "de")
    assert caught.value.status == 500
    assert "answered 500: planned failure" in str(caught.value)
    assert len(fake.chat_requests()) == 1
    assert sleeps == []


# -- unreachable servers and timeouts ----------------------------------------------------------------------------------
def test_nothing_listening_is_server_unreachable_after_retries(make_client, sleeps):
    with pytest.raises(ServerUnreachable) as caught:
        make_client(base_url=closed_port_url(), retries=2).translate("Hallo", "en", "de")
    assert "connection refused" in str(caught.value)
    assert "tried 3 times" in str(caught.value)
    assert "is running" in caught.value.hint
    assert len(sleeps) == 2


def test_a_connection_closed_every_time_is_server_unreachable(fake, make_client):
    fake.behaviour.drop_connection = 100
    with pytest.raises(ServerUnreachable, match="closed the connection without an answer"):
        make_client(retries=1).translate("Hallo", "en", "de")


def test_connect_timeout(unaccepting_url, make_client):
    with pytest.raises(Timeout) as caught:
        make_client(base_url=unaccepting_url, connect_timeout=0.2, retries=0).translate("Hallo", "en", "de")
    assert caught.value.phase == "connect"
    assert "did not accept a connection within 0.2 s" in str(caught.value)


def test_connect_timeouts_are_retried(unaccepting_url, make_client, sleeps):
    with pytest.raises(Timeout):
        make_client(base_url=unaccepting_url, connect_timeout=0.1, retries=1).translate("Hallo", "en", "de")
    assert len(sleeps) == 1


def test_read_timeout_is_not_retried(fake, make_client, sleeps):
    fake.behaviour.delay = 1.0
    with pytest.raises(Timeout) as caught:
        make_client(read_timeout=0.1).translate("Hallo", "en", "de")
    assert caught.value.phase == "read"
    assert "did not answer within 0.1 s" in str(caught.value)
    assert "--timeout" in caught.value.hint
    assert len(fake.chat_requests()) == 1
    assert sleeps == []


def test_a_stream_whose_answer_never_starts_times_out(fake, make_client):
    fake.behaviour.delay = 1.0
    with pytest.raises(Timeout) as caught:
        list(make_client(read_timeout=0.1).stream("Hallo", "en", "de"))
    assert caught.value.phase == "read"


# -- what the server says no to ----------------------------------------------------------------------------------------
def test_missing_api_key(fake, make_client):
    fake.behaviour.api_key = "s3cret"
    with pytest.raises(Unauthorized) as caught:
        make_client().translate("Hallo", "en", "de")
    assert "needs an API key" in str(caught.value)
    assert "HYMT_API_KEY" in caught.value.hint


def test_wrong_api_key(fake, make_client):
    fake.behaviour.api_key = "s3cret"
    with pytest.raises(Unauthorized, match="rejected the API key"):
        list(make_client(api_key="wrong").stream("Hallo", "en", "de"))


def test_unknown_model_lists_the_served_ones(fake, make_client):
    with pytest.raises(ModelNotFound) as caught:
        make_client(model="Hunyuan-MT-7B-typo").translate("Hallo", "en", "de")
    error = caught.value
    assert error.available == ("Hunyuan-MT-7B",)
    assert str(error) == (
        f"the server at {fake.url} does not serve a model named 'Hunyuan-MT-7B-typo'; it serves: Hunyuan-MT-7B"
    )
    assert error.hint.startswith("pass --model Hunyuan-MT-7B or set HYMT_SERVED_MODEL")
    assert [r.path for r in fake.requests if r.method == "GET"] == ["/v1/models"]


def test_unknown_model_when_streaming(fake, make_client):
    fake.behaviour.api_key = "k"  # the model list needs the key as well
    with pytest.raises(ModelNotFound):
        list(make_client(model="nope", api_key="k").stream("Hallo", "en", "de"))


def test_a_base_url_without_the_api_says_so(fake, make_client):
    with pytest.raises(UpstreamError) as caught:
        make_client(base_url=fake.root + "/wrong").translate("Hallo", "en", "de")
    assert caught.value.status == 404
    assert "ends in /v1" in caught.value.hint


def test_context_length_errors_carry_the_servers_words(fake, make_client):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 400, 1
    message = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens."
    fake.behaviour.fail_body = {"object": "error", "message": message, "type": "BadRequestError", "code": 400}
    with pytest.raises(UpstreamError) as caught:
        make_client().translate("Hallo", "en", "de")
    assert str(caught.value).endswith(f"answered 400: {message}")
    assert "--max-model-len" in caught.value.hint


def test_models_lists_the_served_names(make_client):
    assert make_client().models() == ["Hunyuan-MT-7B"]


# -- requests refused before sending -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "target", "source", "message"),
    [
        ("Hallo", "xx", "auto", "unknown language code 'xx'"),
        ("Hallo", "en", "klingon", "unknown language code 'klingon'"),
        ("Hallo", "auto", "de", "the target language cannot be 'auto'"),
        ("", "en", "auto", "the text is empty"),
        (" \n\t", "en", "auto", "the text is empty"),
        ("Hello", "en", "EN", "both en: there is nothing to translate"),
        (None, "en", "auto", "the text must be a string"),
        ("Hallo", None, "auto", "codes such as 'en'"),
    ],
)
def test_invalid_requests_are_refused_before_sending(fake, make_client, text, target, source, message):
    with pytest.raises(InvalidRequest) as caught:
        make_client().translate(text, target, source)
    assert message in str(caught.value)
    assert caught.value.exit_code == 2
    assert fake.requests == []


# -- settings ----------------------------------------------------------------------------------------------------------
def test_settings_come_from_the_environment():
    env = {"HYMT_UPSTREAM_URL": "http://gpu:8000/v1/", "HYMT_API_KEY": "k", "HYMT_SERVED_MODEL": "HY-MT1.5-7B"}
    settings = ClientSettings.from_env(env)
    assert (settings.base_url, settings.api_key, settings.model) == ("http://gpu:8000/v1", "k", "HY-MT1.5-7B")
    assert settings.prompt_family == "hy-mt1.5"


def test_options_win_over_the_environment_and_none_means_not_given():
    env = {"HYMT_UPSTREAM_URL": "http://gpu:8000/v1", "HYMT_SERVED_MODEL": "a"}
    settings = ClientSettings.from_env(env, model="b", base_url=None, read_timeout=7)
    assert (settings.base_url, settings.model, settings.read_timeout) == ("http://gpu:8000/v1", "b", 7)


def test_defaults_without_environment():
    settings = ClientSettings.from_env({"HYMT_API_KEY": "  "})
    assert (settings.base_url, settings.api_key, settings.model) == (DEFAULT_URL, None, DEFAULT_MODEL)
    assert settings.prompt_family == "hunyuan-mt"
    assert settings.timeout == (5.0, 120.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_url": "127.0.0.1:8000/v1"}, "is not a server URL"),
        ({"base_url": "ftp://host/v1"}, "is not a server URL"),
        ({"base_url": "http://host:port/v1"}, "invalid port"),
        ({"base_url": "http://host/v1?x=1"}, "query"),
        ({"model": " "}, "the model name is empty"),
        ({"family": "gpt"}, "unknown model family"),
        ({"read_timeout": 0}, "read_timeout must be a positive number"),
        ({"connect_timeout": -1}, "connect_timeout must be a positive number"),
        ({"retries": -1}, "retries must be a whole number of at least 0"),
        ({"max_workers": 0}, "max_workers must be a whole number of at least 1"),
        ({"chunk_budget": 0}, "chunk_budget"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(changes, message):
    with pytest.raises(InvalidRequest, match=message):
        ClientSettings(**changes)
