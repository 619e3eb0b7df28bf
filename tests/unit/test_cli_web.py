"""`hymt translate --web`: the command line through a deployed web app (the real gateway in front of the fake OpenAI
server), in this process and once as the installed script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hymt.cli import main as cli_main
from hymt.cli.main import main
from hymt.cli.translate import web_settings_from, web_url_of
from hymt.sdk.settings import DEFAULT_WEB_READ_TIMEOUT, WebSettings
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port
from tests.support.web_deployment import SHARED_BY_TESTS, deployment
from tests.unit.conftest import ENV_NAMES

HYMT = Path(sys.executable).parent / "hymt"


@pytest.fixture(scope="module")
def gateway(server: FakeOpenAI) -> Iterator[str]:
    with deployment(server, max_chars=40, **SHARED_BY_TESTS) as url:
        yield url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def parse(*argv: str):
    return cli_main.build_parser().parse_args(["translate", *argv])


# -- translating -------------------------------------------------------------------------------------------------------
def test_web_translates_through_the_deployment(capsys, fake, gateway):
    code, out, err = run(capsys, "translate", "Hallo Welt", "--to", "en", "--from", "de", "--web", gateway)
    assert (code, out, err) == (0, "English translation of: Hallo Welt\n", "")
    assert fake.chat_requests()[0]["messages"][0]["content"].endswith("\n\nHallo Welt")


def test_web_json_reports_what_the_deployment_detected(capsys, fake, gateway):
    code, out, _ = run(capsys, "translate", "今天天气很好", "--to", "en", "--web", gateway + "/", "--json")
    payload = json.loads(out)
    assert code == 0
    assert list(payload) == ["translation", "source", "target", "model", "elapsed_ms"]
    assert payload["translation"] == "英语 translation of: 今天天气很好"
    assert (payload["source"], payload["target"], payload["model"]) == ("zh", "en", "Hunyuan-MT-7B")


def test_web_stream_prints_the_same_text(capsys, fake, gateway):
    fake.behaviour.chunk_chars = 3
    code, out, _ = run(capsys, "translate", "Hallo Welt", "--to", "en", "--web", gateway, "--stream")
    assert (code, out) == (0, "English translation of: Hallo Welt\n")
    assert fake.chat_requests()[0]["stream"] is True


def test_web_stream_json_prints_deltas_then_the_result(capsys, fake, gateway):
    fake.behaviour.reply = lambda prompt: "Bonjour,monde"
    fake.behaviour.chunk_chars = 5
    code, out, _ = run(
        capsys, "translate", "Hello world", "--to", "FR", "--from", "en", "--web", gateway, "--stream", "--json"
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    # A line per event: the model's pieces (of 5 characters) one by one, or joined when they reached the gateway
    # together.
    deltas = [line.pop("delta") for line in lines[:-1]]
    assert lines[:-1] == [{}] * len(deltas) and "".join(deltas) == "Bonjour,monde"
    assert all(len(delta) % 5 == 0 for delta in deltas[:-1])
    assert lines[-1]["translation"] == "Bonjour,monde"
    assert (lines[-1]["source"], lines[-1]["target"]) == ("en", "fr")


def test_the_web_url_can_come_from_the_environment(capsys, fake, gateway, monkeypatch):
    monkeypatch.setenv("HYMT_WEB_URL", gateway)
    code, out, _ = run(capsys, "translate", "Hallo", "--to", "en", "--from", "de")
    assert (code, out) == (0, "English translation of: Hallo\n")


# -- which server: options, then HYMT_WEB_URL, then HYMT_UPSTREAM_URL --------------------------------------------------
def test_web_and_url_together_are_a_usage_error(capsys, fake, gateway):
    code, out, err = run(capsys, "translate", "Hallo", "--to", "en", "--web", gateway, "--url", fake.url)
    assert code == 2 and out == ""
    assert "argument --url: not allowed with argument --web" in err
    assert fake.requests == []


def test_the_web_variable_wins_over_the_upstream_variable(capsys, fake, gateway, monkeypatch):
    monkeypatch.setenv("HYMT_WEB_URL", gateway)
    monkeypatch.setenv("HYMT_UPSTREAM_URL", f"http://127.0.0.1:{free_port()}/v1")  # nothing there
    assert web_url_of(parse("x", "--to", "en")) == gateway
    code, out, _ = run(capsys, "translate", "Hallo", "--to", "en", "--from", "de", "--retries", "0")
    assert (code, out) == (0, "English translation of: Hallo\n")


def test_url_on_the_command_line_wins_over_the_web_variable(capsys, fake, monkeypatch):
    monkeypatch.setenv("HYMT_WEB_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    code, out, _ = run(capsys, "translate", "Hallo", "--to", "en", "--from", "de", "--url", fake.url)
    assert (code, out) == (0, "English translation of: Hallo\n")
    assert fake.requests[-1].path == "/v1/chat/completions"  # straight to the OpenAI-compatible server


def test_web_on_the_command_line_wins_over_the_web_variable(monkeypatch):
    monkeypatch.setenv("HYMT_WEB_URL", "https://elsewhere.example.com")
    assert web_settings_from(parse("x", "--to", "en", "--web", "https://mt.example.com/")).base_url == (
        "https://mt.example.com"
    )


@pytest.mark.parametrize(
    ("option", "value"), [("--api-key", "s3cret"), ("--model", "Hunyuan-MT-7B"), ("--model-family", "hy-mt1.5")]
)
def test_openai_only_options_are_refused_in_web_mode(capsys, fake, gateway, monkeypatch, option, value):
    code, out, err = run(capsys, "translate", "Hallo", "--to", "en", "--web", gateway, option, value)
    assert code == 2 and out == ""
    assert f"hymt: error: {option} does not apply to a web deployment" in err
    assert "use --url instead of --web" in err
    monkeypatch.setenv("HYMT_WEB_URL", gateway)
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", option, value)
    assert code == 2
    assert "$HYMT_WEB_URL selects a web deployment" in err
    assert fake.requests == []


def test_openai_variables_are_ignored_in_web_mode(capsys, fake, gateway, monkeypatch):
    # An operator's environment file sets them for the web app itself; they mean nothing to --web.
    monkeypatch.setenv("HYMT_SERVED_MODEL", "something-else")
    monkeypatch.setenv("HYMT_API_KEY", "for-vllm")
    code, out, _ = run(capsys, "translate", "Hallo", "--to", "en", "--from", "de", "--web", gateway, "--json")
    assert code == 0
    assert json.loads(out)["model"] == "Hunyuan-MT-7B"


def test_timeout_and_retries_apply_in_web_mode():
    settings = web_settings_from(parse("x", "--to", "en", "--web", "https://mt.example.com", "--timeout", "2.5"))
    assert (settings.connect_timeout, settings.read_timeout, settings.retries) == (2.5, 2.5, 3)
    settings = web_settings_from(parse("x", "--to", "en", "--web", "https://mt.example.com", "--retries", "0"))
    assert (settings.connect_timeout, settings.read_timeout, settings.retries) == (5.0, DEFAULT_WEB_READ_TIMEOUT, 0)
    assert isinstance(settings, WebSettings)


def test_help_explains_both_kinds_of_server(capsys):
    code, out, _ = run(capsys, "translate", "--help")
    assert code == 0
    assert "--web URL" in out and "HYMT_WEB_URL" in out
    assert "$HYMT_WEB_URL over $HYMT_UPSTREAM_URL" in out


# -- failures ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Hallo", "--to", "xx"], "the deployment refused the request: Unknown target language 'xx'"),
        (["Hallo", "--to", "en", "--from", "en"], "the deployment refused the request: The source and the target"),
        (["   ", "--to", "en"], "the deployment refused the request: There is no text to translate"),
        (["x" * 41, "--to", "en"], "the text has 41 characters but the deployment at"),
    ],
)
def test_requests_the_deployment_refuses_exit_2(capsys, fake, gateway, argv, message):
    code, out, err = run(capsys, "translate", *argv, "--web", gateway)
    assert code == 2 and out == ""
    assert f"hymt: error: {message}" in err
    assert "hymt: hint: " in err
    assert fake.chat_requests() == []


def test_a_text_over_the_limit_is_told_the_limit(capsys, fake, gateway):
    _, _, err = run(capsys, "translate", "y" * 50, "--to", "en", "--web", gateway, "--stream")
    assert "accepts at most 40" in err
    assert "hint: translate it in parts of at most 40 characters" in err


def test_a_server_that_is_not_a_hymt_app_exits_1(capsys, fake):
    code, out, err = run(capsys, "translate", "Hallo", "--to", "en", "--web", fake.url, "--retries", "0")
    assert code == 1 and out == ""
    assert f"hymt: error: {fake.url} is not a hymt web app: /api/translate answered 404" in err
    assert "hymt: hint: this looks like an OpenAI-compatible URL (vLLM's /v1): use --url" in err
    assert "Traceback" not in err


def test_a_failing_model_exits_1(capsys, fake, gateway):
    fake.behaviour.fail_status = 500
    fake.behaviour.fail_count = -1
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--web", gateway)
    assert code == 1
    assert "answered 502: The translation model failed on this request" in err
    assert "hymt: hint: the deployment's model server failed" in err


def test_an_invalid_web_url_is_a_usage_error(capsys, fake):
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--web", "mt.example.com")
    assert code == 2
    assert "hymt: error: 'mt.example.com' is not a server URL" in err
    assert "--web or HYMT_WEB_URL" in err


# -- the installed script, for real ------------------------------------------------------------------------------------
def test_installed_script_translates_through_a_deployment(fake, gateway):
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES}
    result = subprocess.run(
        [str(HYMT), "translate", "-", "--to", "en", "--web", gateway, "--stream", "--json"],
        input="今天天气很好".encode(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert "".join(line["delta"] for line in lines[:-1]) == "英语 translation of: 今天天气很好"
    assert (lines[-1]["translation"], lines[-1]["source"]) == ("英语 translation of: 今天天气很好", "zh")
