"""The SDK's web client against the real gateway (uvicorn in a thread) in front of the fake OpenAI server: what it
sends, streams, batches, and how every answer of the gateway's error contract reaches the caller.

Waits between retries are recorded instead of slept; no test asserts how long anything took.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
import requests

from hymt.core.languages import AUTO, LANGUAGES
from hymt.sdk import Translation, Translator, WebSettings, WebTranslationClient, errors
from hymt.sdk.settings import DEFAULT_WEB_READ_TIMEOUT
from tests.support.clients import closing_factory
from tests.support.fake_openai import FakeOpenAI, default_reply
from tests.support.net import free_port
from tests.support.web_deployment import SHARED_BY_TESTS, deployment, front_door


@pytest.fixture(scope="module")
def gateway(server: FakeOpenAI) -> Iterator[str]:
    """The web app with its default settings (but SHARED_BY_TESTS) in front of the fake server; its base URL."""
    with deployment(server, **SHARED_BY_TESTS) as url:
        yield url


class CountingSession(requests.Session):
    """Remembers every request the client sent: (method, path)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        self.sent.append((method, requests.utils.urlparse(url).path))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def make_client(gateway: str, sleeps: list[float]):
    def build(url: str | None = None, session: requests.Session | None = None, **settings: object):
        return WebTranslationClient(
            WebSettings(url or gateway, **settings), session=session, sleep=sleeps.append, jitter=lambda: 0.5
        )

    yield from closing_factory(build)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def translate_by(client: WebTranslationClient, method: str, text: str, target: str, source: str = AUTO):
    """Translate plainly or by streaming (read to the end); the Translation either way."""
    if method == "translate":
        return client.translate(text, target, source)
    stream = client.stream(text, target, source)
    pieces = list(stream)
    assert "".join(pieces) == stream.result.text
    return stream.result


METHODS = ["translate", "stream"]


# -- translating -------------------------------------------------------------------------------------------------------
def test_translate_sends_one_request_to_the_deployment(fake, make_client):
    session = CountingSession()
    result = make_client(session=session).translate("Guten Morgen", "en", "de")
    assert result.text == "English translation of: Guten Morgen"
    assert (result.source, result.target, result.model, result.segments) == ("de", "en", "Hunyuan-MT-7B", 1)
    assert result.elapsed >= 0
    assert session.sent == [("POST", "/api/translate")]
    assert fake.chat_requests()[0]["messages"][0]["content"].endswith("\n\nGuten Morgen")


def test_a_long_text_is_sent_whole_and_the_deployment_splits_it(fake, make_client):
    session = CountingSession()
    text = "Erste Zeile.\n\n  Zweite Zeile.\nDritte Zeile."
    result = make_client(session=session).translate(text, "fr", "de")
    assert session.sent == [("POST", "/api/translate")]
    assert len(fake.chat_requests()) == 2  # one a paragraph
    assert result.text == (
        "French translation of: Erste Zeile.\n\n  French translation of: Zweite Zeile.\nDritte Zeile."
    )


def test_the_deployment_detects_the_source_and_canonicalises_codes(fake, make_client):
    result = make_client().translate("今天天气很好", "EN")
    assert (result.source, result.target) == ("zh", "en")
    assert fake.chat_requests()[0]["messages"][0]["content"].startswith("把下面的文本翻译成英语")


def test_model_and_limits_come_from_api_info_asked_once(fake, make_client):
    session = CountingSession()
    client = make_client(session=session)
    assert client.model == "Hunyuan-MT-7B"
    info = client.info()
    assert (info.model, info.profile, info.max_chars) == ("Hunyuan-MT-7B", "gpu", 5000)
    assert client.model == "Hunyuan-MT-7B"
    assert session.sent == [("GET", "/api/info")]


def test_languages_are_the_deployments(make_client):
    languages = make_client().languages()
    assert [language["code"] for language in languages] == [language.code for language in LANGUAGES]


def test_stream_yields_pieces_then_the_deployments_result(fake, make_client):
    fake.behaviour.chunk_chars = 3
    # Pieces one at a time, as a model writes them: pieces that reach the gateway together go out as one (a loaded
    # machine read them together when the stand-in sent them back to back).
    fake.behaviour.chunk_delay = 0.01
    session = CountingSession()
    client = make_client(session=session)
    stream = client.stream("今天天气很好", "en")
    assert (stream.source, stream.target, stream.model) == ("auto", "en", "Hunyuan-MT-7B")  # as given, so far
    pieces = list(stream)
    assert len(pieces) > 3
    assert "".join(pieces) == "英语 translation of: 今天天气很好"
    assert stream.result.text == "英语 translation of: 今天天气很好"
    assert (stream.result.source, stream.result.target, stream.result.model) == ("zh", "en", "Hunyuan-MT-7B")
    assert stream.source == "zh"  # as the deployment detected it
    assert session.sent == [("GET", "/api/info"), ("POST", "/api/translate/stream")]
    assert fake.chat_requests()[0]["stream"] is True


def test_a_stream_keeps_the_texts_line_breaks(fake, make_client):
    result = translate_by(make_client(), "stream", "Erste Zeile\n\nZweite Zeile\n", "fr", "de")
    assert result.text == "French translation of: Erste Zeile\n\nFrench translation of: Zweite Zeile\n"


def test_translate_many_keeps_the_order(fake, make_client):
    texts = [f"Satz Nummer {n}." for n in range(8)]

    def slower_for_earlier_texts(prompt: str) -> str:
        number = int(prompt.rsplit(" ", 1)[1].rstrip("."))
        time.sleep((8 - number) * 0.01)  # the first texts finish last
        return default_reply(prompt)

    fake.behaviour.reply = slower_for_earlier_texts
    results = make_client().translate_many(texts, "en", "de", max_workers=4)
    assert [result.text for result in results] == [f"English translation of: {text}" for text in texts]
    assert all(isinstance(result, Translation) and result.source == "de" for result in results)
    assert len(fake.chat_requests()) == 8


def test_translate_many_names_the_text_that_failed(fake, make_client):
    with pytest.raises(errors.InvalidRequest) as caught:
        make_client().translate_many(["eins", "   ", "drei"], "en", "de", max_workers=1)
    assert str(caught.value).startswith("text #2: the deployment refused the request: There is no text")


def test_translate_many_of_nothing_sends_nothing(make_client):
    session = CountingSession()
    assert make_client(session=session).translate_many([], "en") == []
    assert session.sent == []


def test_translate_many_refuses_a_single_string(make_client):
    with pytest.raises(errors.InvalidRequest, match="list of texts"):
        make_client().translate_many("one text", "en")


def test_the_client_satisfies_the_translator_interface(make_client):
    assert isinstance(make_client(), Translator)


def test_the_url_can_come_from_the_environment(fake, gateway):
    with WebTranslationClient.from_env({"HYMT_WEB_URL": gateway + "/"}, retries=0) as client:
        assert client.translate("Hallo", "en", "de").text == "English translation of: Hallo"
        assert client.settings.retries == 0


def test_without_a_url_there_is_nothing_to_talk_to():
    with pytest.raises(errors.InvalidRequest, match="no web deployment") as caught:
        WebTranslationClient.from_env({"HYMT_UPSTREAM_URL": "http://127.0.0.1:8000/v1"})
    assert "HYMT_WEB_URL" in caught.value.hint


# -- requests the deployment refuses: InvalidRequest (exit code 2), nothing reaches the model -------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("text", "target", "source", "words", "hint"),
    [
        ("  \n", "en", AUTO, "There is no text to translate", "give some text"),
        ("Hallo", "xx", AUTO, "Unknown target language 'xx'", "codes are case-insensitive"),
        ("Hallo", "en", "klingon", "Unknown source language 'klingon'", "codes are case-insensitive"),
        ("Hallo", "auto", AUTO, "'auto' can only be the source", "codes are case-insensitive"),
        ("Hallo", "en", "EN", "both English", "choose another target language"),
        ("Hal\x00lo", "en", AUTO, "control character U+0000 at character 4", "remove control characters"),
    ],
)
def test_refused_requests_are_invalid_requests(fake, make_client, sleeps, method, text, target, source, words, hint):
    with pytest.raises(errors.InvalidRequest) as caught:
        translate_by(make_client(), method, text, target, source)
    assert words in str(caught.value)
    assert caught.value.hint.startswith(hint)
    assert caught.value.exit_code == 2
    assert fake.chat_requests() == []
    assert sleeps == []


@pytest.fixture(scope="module")
def small_gateway(server: FakeOpenAI) -> Iterator[str]:
    """A deployment that takes at most 20 characters a request."""
    with deployment(server, max_chars=20, **SHARED_BY_TESTS) as url:
        yield url


@pytest.mark.parametrize("method", METHODS)
def test_a_text_over_the_limit_says_the_limit(fake, make_client, small_gateway, method):
    client = make_client(small_gateway)
    assert translate_by(client, method, "x" * 20, "en", "de").text == "English translation of: " + "x" * 20
    with pytest.raises(errors.TextTooLong) as caught:
        translate_by(client, method, "x" * 21, "en", "de")
    error = caught.value
    assert (error.length, error.limit, error.exit_code) == (21, 20, 2)
    assert "the text has 21 characters but the deployment at" in str(error) and "accepts at most 20" in str(error)
    assert "at most 20 characters" in error.hint
    assert len(fake.chat_requests()) == 1  # only the text within the limit


@pytest.mark.parametrize("method", METHODS)
def test_a_text_of_too_many_parts_is_an_invalid_request_not_a_length_error(fake, make_client, method):
    with deployment(fake, chunk_tokens=1, max_segments=2) as url, pytest.raises(errors.InvalidRequest) as caught:
        translate_by(make_client(url), method, "one two three", "en", "de")
    assert not isinstance(caught.value, errors.TextTooLong)
    assert "more than the 2 one translation may take" in str(caught.value)
    assert caught.value.hint.startswith("translate the text in smaller parts")
    assert fake.chat_requests() == []


def test_the_server_decides_the_limit_when_it_is_not_known_yet(fake, make_client, small_gateway):
    session = CountingSession()
    with pytest.raises(errors.TextTooLong) as caught:
        make_client(small_gateway, session=session).translate("y" * 30, "en", "de")
    assert caught.value.limit == 20
    # The 413 came from the deployment; the limit for the message from /api/info afterwards.
    assert session.sent == [("POST", "/api/translate"), ("GET", "/api/info")]


def test_a_known_limit_is_checked_before_sending(fake, make_client, small_gateway):
    session = CountingSession()
    client = make_client(small_gateway, session=session)
    assert client.info().max_chars == 20
    for method in METHODS:
        with pytest.raises(errors.TextTooLong):
            translate_by(client, method, "z" * 25, "en", "de")
    assert session.sent == [("GET", "/api/info")]


# -- the deployment is busy or its model fails -------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_a_full_deployment_is_retried_after_its_retry_after_then_rate_limited(fake, make_client, sleeps, method):
    fake.behaviour.stall_stream_after = 1  # the first translation holds the only place
    # A deployment of its own: the place is freed only some time after the holder leaves.
    with deployment(fake, max_in_flight=1) as url, make_client(url, retries=0).stream("Hallo", "en", "de") as holder:
        assert next(holder) == "Engl"
        with pytest.raises(errors.RateLimited) as caught:
            translate_by(make_client(url, retries=1), method, "Bonjour", "en", "fr")
    assert caught.value.retry_after == 2
    assert "429 after 2 attempts" in str(caught.value)
    assert sleeps == [2.0]  # the deployment's Retry-After, longer than the backoff


@pytest.mark.parametrize("method", METHODS)
def test_a_failing_model_is_a_502_upstream_error_not_retried(fake, make_client, sleeps, method):
    fake.behaviour.fail_status = 500
    fake.behaviour.fail_count = -1
    with pytest.raises(errors.UpstreamError) as caught:
        translate_by(make_client(), method, "Hallo", "en", "de")
    assert caught.value.status == 502
    assert "The translation model failed on this request" in str(caught.value)
    assert "model server failed" in caught.value.hint
    assert caught.value.exit_code == 1
    assert sleeps == []
    assert len(fake.chat_requests()) == 1


@pytest.mark.parametrize("method", METHODS)
def test_a_model_that_is_not_ready_is_retried_then_translates(fake, make_client, sleeps, method):
    fake.behaviour.fail_status = 503
    fake.behaviour.fail_count = 1
    result = translate_by(make_client(), method, "Hallo", "en", "de")
    assert result.text == "English translation of: Hallo"
    assert len(sleeps) == 1
    assert len(fake.chat_requests()) == 2


@pytest.mark.parametrize("method", METHODS)
def test_a_model_that_is_down_is_a_503_after_the_retries(fake, make_client, sleeps, method):
    with deployment(fake, upstream_url=closed_port_url() + "/v1") as url, pytest.raises(errors.UpstreamError) as caught:
        translate_by(make_client(url, retries=2), method, "Hallo", "en", "de")
    assert caught.value.status == 503
    assert "The translation model cannot be reached" in str(caught.value)
    assert "loading or down" in caught.value.hint
    assert len(sleeps) == 2


@pytest.mark.parametrize("method", METHODS)
def test_a_model_that_does_not_answer_in_time_is_a_timeout_of_the_deployment(fake, make_client, sleeps, method):
    fake.behaviour.delay = 2
    with deployment(fake, read_timeout=0.2) as url, pytest.raises(errors.Timeout) as caught:
        translate_by(make_client(url), method, "Hallo", "en", "de")
    error = caught.value
    assert (error.phase, error.seconds) == ("upstream", None)
    assert "gave up waiting for its model: The translation model took too long" in str(error)
    assert "not --timeout" in error.hint
    assert sleeps == []


def test_a_stream_that_fails_after_pieces_is_interrupted_not_retried(fake, make_client, sleeps):
    fake.behaviour.reply = lambda prompt: "abcdefghijkl"
    fake.behaviour.chunk_chars = 4
    fake.behaviour.stall_stream_after = 1  # the model falls silent after one piece: the deployment gives up on it
    fake.behaviour.stall_keepalive = False
    received = []
    with deployment(fake, read_timeout=0.3) as url, pytest.raises(errors.StreamInterrupted) as caught:
        for piece in make_client(url).stream("Hallo", "en", "de"):
            received.append(piece)
    assert received == ["abcd"]
    assert caught.value.delivered_chars == 4
    assert "broke off after 4 characters (the deployment reported: The translation model took too long" in str(
        caught.value
    )
    assert sleeps == []
    assert len(fake.chat_requests()) == 1


# -- not a hymt deployment, or something in front of it ----------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_a_server_that_is_not_a_hymt_app_says_so(fake, make_client, method):
    with pytest.raises(errors.NotAHymtApp) as caught:
        translate_by(make_client(fake.root, retries=0), method, "Hallo", "en", "de")
    path = "/api/translate" if method == "translate" else "/api/info"
    assert str(caught.value).startswith(f"{fake.root} is not a hymt web app: {path} answered 404")
    assert "address of the deployment's translation page" in caught.value.hint
    assert caught.value.exit_code == 1


def test_an_openai_url_given_as_a_deployment_points_to_url(fake, make_client):
    with pytest.raises(errors.NotAHymtApp) as caught:
        make_client(fake.url, retries=0).translate("Hallo", "en", "de")
    assert "use --url" in caught.value.hint


def test_a_site_answering_html_is_not_a_hymt_app(make_client):
    with front_door(200, "<!doctype html><title>Welcome</title>") as site, pytest.raises(errors.NotAHymtApp) as caught:
        make_client(site.url).translate("Hallo", "en", "de")
    assert "/api/translate answered text/html, not JSON" in str(caught.value)


def test_a_proxy_asking_for_credentials_is_unauthorized(make_client):
    with front_door(401, "errors.Unauthorized", headers={"WWW-Authenticate": 'Basic realm="mt"'}) as proxy:
        with pytest.raises(errors.Unauthorized) as without:
            make_client(proxy.url).translate("Hallo", "en")
        user_url = proxy.url.replace("http://", "http://ann:s%40cret@")
        with pytest.raises(errors.Unauthorized) as rejected:
            make_client(user_url).translate("Hallo", "en")
    assert without.value.key_given is False and rejected.value.key_given is True
    assert "refused access (401)" in str(without.value)
    assert "https://user:password@host" in without.value.hint
    assert "s%40cret" not in str(rejected.value) and "s@cret" not in str(rejected.value)


def test_credentials_path_prefix_and_extra_headers_reach_the_deployment(make_client):
    with front_door(404, "not here") as door:
        prefixed = door.url.replace("http://", "http://ann:s%40cret@") + "/mt/api/"
        with pytest.raises(errors.NotAHymtApp) as caught:
            make_client(prefixed, retries=0).translate("Hallo", "en")
        with pytest.raises(errors.NotAHymtApp):
            make_client(door.url + "/mt", headers={"X-Team": "mt"}).translate("Hallo", "en")
    (method, path, headers), (_, _, extra) = door.requests
    assert (method, path) == ("POST", "/mt/api/translate")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"ann:s@cret").decode()
    assert extra["X-Team"] == "mt" and "Authorization" not in extra
    assert str(caught.value).startswith(f"{door.url}/mt is not a hymt web app")


def test_a_proxy_whose_app_is_down_is_an_upstream_error(make_client, sleeps):
    with (
        front_door(502, "<html><h1>502 Bad Gateway</h1></html>") as proxy,
        pytest.raises(errors.UpstreamError) as caught,
    ):
        make_client(proxy.url).translate("Hallo", "en")
    assert caught.value.status == 502
    assert "502 Bad Gateway" in str(caught.value)
    assert "does not answer its proxy" in caught.value.hint
    assert sleeps == []


def test_no_connection_is_server_unreachable_after_the_retries(make_client, sleeps):
    with pytest.raises(errors.ServerUnreachable) as caught:
        make_client(closed_port_url(), retries=1).translate("Hallo", "en")
    assert "connection refused" in str(caught.value)
    assert "the deployment is up" in caught.value.hint
    assert len(sleeps) == 1


def test_every_failure_is_a_hymt_error(make_client):
    with pytest.raises(errors.HymtError):
        make_client(closed_port_url(), retries=0).stream("Hallo", "en")


# -- settings ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "base_url"),
    [
        ("https://mt.example.com", "https://mt.example.com"),
        ("https://mt.example.com/", "https://mt.example.com"),
        ("http://203.0.113.7:8088/api/", "http://203.0.113.7:8088"),
        ("https://example.com/mt/", "https://example.com/mt"),
        (" https://api.example.com ", "https://api.example.com"),
        ("http://[::1]:8088", "http://[::1]:8088"),
    ],
)
def test_deployment_addresses_are_normalised(given, base_url):
    settings = WebSettings(given)
    assert settings.base_url == base_url
    assert settings.headers == {}


def test_credentials_in_the_url_become_a_basic_auth_header_and_leave_the_url():
    settings = WebSettings("https://ann:s%40cret@mt.example.com:8443/mt")
    assert settings.base_url == "https://mt.example.com:8443/mt"
    assert settings.headers == {"Authorization": "Basic " + base64.b64encode(b"ann:s@cret").decode()}
    assert "cret" not in repr(settings)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"base_url": "mt.example.com"}, "is not a server URL"),
        ({"base_url": "ftp://mt.example.com"}, "is not a server URL"),
        ({"base_url": "https://mt.example.com:port"}, "invalid port"),
        ({"base_url": "https://mt.example.com/?lang=en"}, "must not have a query"),
        ({"base_url": "https://ann:pw@x.org", "headers": {"authorization": "Bearer t"}}, "credentials are given twice"),
        ({"base_url": "https://x.org", "headers": {"Bad Name": "v"}}, "not an HTTP header name"),
        ({"base_url": "https://x.org", "headers": {"X-A": "one\r\nX-B: two"}}, "must be one line"),
        ({"base_url": "https://x.org", "read_timeout": 0}, "read_timeout must be a positive number"),
        ({"base_url": "https://x.org", "retries": -1}, "retries must be a whole number"),
        ({"base_url": "https://x.org", "max_workers": 0}, "max_workers must be a whole number"),
    ],
)
def test_bad_settings_are_refused_at_once(settings, words):
    with pytest.raises(errors.InvalidRequest, match=words):
        WebSettings(**settings)


def test_the_default_read_timeout_outlasts_the_deployments_own():
    # The web app answers 504 after its HYMT_REQUEST_TIMEOUT (300 s by default); its words should reach the user.
    from hymt_web import Settings

    assert WebSettings("https://x.org").read_timeout == DEFAULT_WEB_READ_TIMEOUT > Settings().request_timeout
