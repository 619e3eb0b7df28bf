"""The SDK and `hymt translate --web` with a private deployment's access key (HYMT_ACCESS_KEY / --access-key): sent as
a Bearer token, or as X-API-Key when a proxy's credentials hold the Authorization header; a missing or wrong key is
an Unauthorized error that says which option to use, distinct from vLLM's HYMT_API_KEY."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from hymt.cli.main import main
from hymt.sdk import WebSettings, WebTranslationClient, errors
from tests.support.fake_openai import FakeOpenAI
from tests.support.web_deployment import SHARED_BY_TESTS, deployment, front_door

KEY = "team-7c2f0e9a41b35d86"


@pytest.fixture(scope="module")
def private(server: FakeOpenAI, tmp_path_factory) -> Iterator[str]:
    """The gateway with one access key (labelled "team") in front of the fake server; its base URL."""
    keys = tmp_path_factory.mktemp("keys") / "access_keys"
    keys.write_text(hashlib.sha256(KEY.encode()).hexdigest() + " team\n", encoding="utf-8")
    with deployment(server, access_keys_file=str(keys), **SHARED_BY_TESTS) as url:
        yield url


def test_the_sdk_translates_with_the_key_and_says_the_deployment_is_private(fake, private):
    with WebTranslationClient(WebSettings(private, access_key=KEY)) as client:
        assert client.translate("Hallo", "en", "de").text
        assert "".join(client.stream("Hallo", "en", "de"))
        assert client.info().access_key_required is True


@pytest.mark.parametrize(("key", "words"), [(None, "needs an access key"), ("wrong-key", "did not accept")])
def test_a_missing_or_wrong_key_is_unauthorized_with_the_option_to_use(fake, private, key, words):
    with (
        WebTranslationClient(WebSettings(private, access_key=key, retries=0)) as client,
        pytest.raises(errors.Unauthorized) as caught,
    ):
        client.translate("Hallo", "en", "de")
    assert words in str(caught.value) and "(401)" in str(caught.value)
    assert "--access-key or HYMT_ACCESS_KEY" in caught.value.hint and "not vLLM's HYMT_API_KEY" in caught.value.hint
    assert caught.value.key_given is (key is not None)
    assert fake.chat_requests() == []


def test_the_key_comes_from_the_environment_and_never_shows_in_repr():
    settings = WebSettings.from_env({"HYMT_WEB_URL": "https://mt.example.com", "HYMT_ACCESS_KEY": f" {KEY} "})
    assert settings.access_key == KEY and settings.headers == {"Authorization": f"Bearer {KEY}"}
    assert KEY not in repr(settings)
    assert settings.replace(retries=1).headers == settings.headers  # a copy does not send it twice


def test_with_a_proxys_credentials_in_the_url_the_key_goes_in_x_api_key():
    with front_door(404, "nothing here") as door:
        url = door.url.replace("http://", "http://ann:secret@")
        with (
            WebTranslationClient(WebSettings(url, access_key=KEY, retries=0)) as client,
            pytest.raises(errors.NotAHymtApp),
        ):
            client.translate("Hallo", "en")
    headers = {name.lower(): value for name, value in door.requests[0][2].items()}
    assert headers["authorization"].startswith("Basic ") and headers["x-api-key"] == KEY


@pytest.mark.parametrize("bad", ["two words", "schlüssel", "line\nbreak"])
def test_a_key_that_cannot_travel_in_a_header_is_refused_before_sending(bad):
    with pytest.raises(errors.InvalidRequest, match="printable ASCII"):
        WebSettings("https://mt.example.com", access_key=bad)


def test_the_cli_sends_the_key_from_the_option_or_the_environment(capsys, fake, private, monkeypatch):
    assert main(["translate", "Hallo", "--to", "en", "--web", private, "--access-key", KEY]) == 0
    assert capsys.readouterr().out.strip()
    monkeypatch.setenv("HYMT_ACCESS_KEY", KEY)
    assert main(["translate", "Hallo", "--to", "en", "--web", private]) == 0
    monkeypatch.setenv("HYMT_ACCESS_KEY", "wrong-key")
    assert main(["translate", "Hallo", "--to", "en", "--web", private, "--retries", "0"]) == 1
    err = capsys.readouterr().err
    assert "did not accept the access key" in err and "--access-key" in err and "wrong-key" not in err


def test_the_access_key_option_is_refused_for_an_openai_server(capsys):
    code = main(["translate", "Hallo", "--to", "en", "--url", "http://127.0.0.1:9/v1", "--access-key", KEY])
    assert code == 2
    assert "--access-key is for a web deployment" in capsys.readouterr().err
