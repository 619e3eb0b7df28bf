"""The `hymt` command: output, options, environment, standard input, exit codes, and never a traceback.

Most tests run `main([...])` in this process with captured output; a few run the installed `hymt` script for real.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hymt import __version__
from hymt.cli import main as cli_main
from hymt.cli.main import main
from hymt.cli.translate import settings_from
from hymt.core.languages import LANGUAGES
from hymt.sdk.client import TranslationClient
from hymt.sdk.settings import DEFAULT_MODEL, DEFAULT_URL
from tests.unit.conftest import ENV_NAMES

HYMT = Path(sys.executable).parent / "hymt"  # the console script of the venv running the tests


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def closed_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def stdin_of(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# -- hymt, hymt --version, hymt --help ---------------------------------------------------------------------------------
def test_version(capsys):
    assert run(capsys, "--version") == (0, f"hymt {__version__}\n", "")


def test_help_documents_exit_codes_and_environment(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for line in ("0    success", "1    the translation failed", "2    usage error", "130  interrupted"):
        assert line in out
    for name in ("HYMT_UPSTREAM_URL", "HYMT_API_KEY", "HYMT_SERVED_MODEL"):
        assert name in out
    assert "languages" in out and "translate" in out


def test_no_command_is_a_usage_error(capsys):
    code, _, err = run(capsys)
    assert code == 2
    assert "usage: hymt" in err


def test_unknown_command_is_a_usage_error(capsys):
    code, _, err = run(capsys, "transmogrify")
    assert code == 2
    assert "invalid choice" in err


def test_optional_command_modules_register_only_when_present(monkeypatch):
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("hymt.cli.translate",))
    monkeypatch.setattr(cli_main, "OPTIONAL_COMMAND_MODULES", ("hymt.cli.no_such_command", "hymt.cli.languages"))
    parser = cli_main.build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(subcommands) == {"translate", "languages"}


# -- hymt languages ----------------------------------------------------------------------------------------------------
def test_languages_table_has_a_row_per_language(capsys):
    code, out, err = run(capsys, "languages")
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0].split() == ["CODE", "ENGLISH", "CHINESE", "DIRECTION", "NATIVE"]
    assert len(lines) == 1 + 38
    assert lines[1].split()[:3] == ["zh", "Chinese", "中文"]
    hebrew = next(line for line in lines if line.startswith("he "))
    assert hebrew.split() == ["he", "Hebrew", "希伯来语", "rtl", "עברית"]
    zh_hant = next(line for line in lines if line.startswith("zh-Hant "))
    assert "Traditional Chinese" in zh_hant and "繁體中文" in zh_hant


def test_languages_columns_line_up_with_chinese_names(capsys):
    _, out, _ = run(capsys, "languages")
    # The DIRECTION column starts at the same terminal column on every line (Chinese characters are 2 wide).
    columns = set()
    for line in out.splitlines()[1:]:
        before = line[: line.index(" ltr " if " ltr " in line else " rtl ")]
        columns.add(sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in before))
    assert len(columns) == 1


def test_languages_json(capsys):
    code, out, _ = run(capsys, "languages", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len(rows) == 38
    assert all(list(row) == ["code", "name_en", "name_zh", "native", "rtl"] for row in rows)
    assert rows == [
        {"code": lang.code, "name_en": lang.name_en, "name_zh": lang.name_zh, "native": lang.native, "rtl": lang.rtl}
        for lang in LANGUAGES
    ]
    assert "中文" in out  # UTF-8, not \\u escapes


# -- hymt translate ----------------------------------------------------------------------------------------------------
def test_translate_prints_the_translation(capsys, fake):
    code, out, err = run(capsys, "translate", "Hallo Welt", "--to", "en", "--from", "de", "--url", fake.url)
    assert (code, out, err) == (0, "English translation of: Hallo Welt\n", "")


def test_translate_json(capsys, fake):
    code, out, _ = run(capsys, "translate", "今天天气很好", "--to", "en", "--url", fake.url, "--json")
    payload = json.loads(out)
    assert code == 0
    assert list(payload) == ["translation", "source", "target", "model", "elapsed_ms"]
    assert payload["translation"] == "英语 translation of: 今天天气很好"
    assert (payload["source"], payload["target"], payload["model"]) == ("zh", "en", "Hunyuan-MT-7B")
    assert isinstance(payload["elapsed_ms"], int) and payload["elapsed_ms"] >= 0


def test_translate_stream_prints_the_same_text(capsys, fake):
    fake.behaviour.chunk_chars = 3
    code, out, _ = run(capsys, "translate", "Hallo Welt", "--to", "en", "--url", fake.url, "--stream")
    assert code == 0
    assert out == "English translation of: Hallo Welt\n"
    assert fake.chat_requests()[0]["stream"] is True


def test_translate_stream_json_prints_deltas_then_the_result(capsys, fake):
    fake.behaviour.reply = lambda prompt: "Bonjour,monde"
    fake.behaviour.chunk_chars = 5
    code, out, _ = run(capsys, "translate", "Hello world", "--to", "fr", "--url", fake.url, "--stream", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert lines[:-1] == [{"delta": "Bonjo"}, {"delta": "ur,mo"}, {"delta": "nde"}]
    assert lines[-1]["translation"] == "Bonjour,monde"
    assert lines[-1]["target"] == "fr"


def test_translate_reads_standard_input(capsys, fake, monkeypatch):
    stdin_of(monkeypatch, b"Erste Zeile\n\nZweite Zeile\n")
    code, out, _ = run(capsys, "translate", "-", "--to", "en", "--from", "de", "--url", fake.url)
    assert code == 0
    assert out == "English translation of: Erste Zeile\n\nEnglish translation of: Zweite Zeile\n"


def test_standard_input_that_is_not_utf8_is_a_usage_error(capsys, fake, monkeypatch):
    stdin_of(monkeypatch, b"caf\xe9")
    code, _, err = run(capsys, "translate", "-", "--to", "en", "--url", fake.url)
    assert code == 2
    assert "standard input is not UTF-8" in err
    assert fake.requests == []


def test_environment_gives_the_defaults(capsys, fake, monkeypatch):
    fake.behaviour.model = "served-name"
    fake.behaviour.api_key = "s3cret"
    monkeypatch.setenv("HYMT_UPSTREAM_URL", fake.url)
    monkeypatch.setenv("HYMT_API_KEY", "s3cret")
    monkeypatch.setenv("HYMT_SERVED_MODEL", "served-name")
    code, _, _ = run(capsys, "translate", "Hallo", "--to", "en", "--from", "de")
    assert code == 0
    assert fake.chat_requests()[0]["model"] == "served-name"
    assert fake.requests[-1].headers["Authorization"] == "Bearer s3cret"


def test_options_win_over_the_environment(capsys, fake, monkeypatch):
    monkeypatch.setenv("HYMT_UPSTREAM_URL", closed_port_url())
    monkeypatch.setenv("HYMT_SERVED_MODEL", "elsewhere")
    code, _, _ = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url, "--model", "Hunyuan-MT-7B")
    assert code == 0
    assert fake.chat_requests()[0]["model"] == "Hunyuan-MT-7B"


def test_defaults_without_environment_or_options():
    args = cli_main.build_parser().parse_args(["translate", "Hallo", "--to", "en"])
    settings = settings_from(args)
    assert (settings.base_url, settings.api_key, settings.model) == (DEFAULT_URL, None, DEFAULT_MODEL)
    assert settings.prompt_family == "hunyuan-mt"


def test_family_and_timeout_options():
    args = cli_main.build_parser().parse_args(
        ["translate", "x", "--to", "en", "--model", "translator", "--family", "hy-mt1.5", "--timeout", "2.5"]
    )
    settings = settings_from(args)
    assert settings.prompt_family == "hy-mt1.5"
    assert (settings.connect_timeout, settings.read_timeout) == (2.5, 2.5)


def test_family_option_changes_the_prompt(capsys, fake):
    fake.behaviour.model = "translator"
    argv = ["translate", "早上好", "--to", "en", "--url", fake.url, "--model", "translator", "--family", "hy-mt1.5"]
    assert run(capsys, *argv)[0] == 0
    assert fake.chat_requests()[0]["messages"][0]["content"].startswith("将以下文本翻译为英语")


def test_a_truncated_answer_is_warned_about(capsys, fake):
    fake.behaviour.finish_reason = "length"
    code, out, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url)
    assert code == 0
    assert out.strip()
    assert "warning: the answer reached its max_tokens limit" in err


# -- failures: plain words on stderr, the right exit code --------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["translate", "Hallo", "--to", "xx"], "unknown language code 'xx'"),
        (["translate", "Hallo", "--to", "en", "--from", "EN"], "both en"),
        (["translate", "  ", "--to", "en"], "the text is empty"),
        (["translate", "--to", "en"], "there is nothing to translate"),  # no text
        (["translate", "Hallo", "--to", "en", "--url", "localhost:8000"], "is not a server URL"),
    ],
)
def test_requests_that_cannot_be_sent_exit_2(capsys, fake, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert f"hymt: error: {message}" in err or message in err
    assert "hymt: hint: " in err
    assert fake.requests == []


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "Hallo"],  # no --to
        ["translate", "Hallo", "--to", "en", "--timeout", "0"],
        ["translate", "Hallo", "--to", "en", "--timeout", "soon"],
        ["translate", "Hallo", "--to", "en", "--retries", "-1"],
        ["translate", "Hallo", "--to", "en", "--family", "gpt"],
        ["languages", "--yaml"],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage:" in err


def test_a_server_that_is_down_exits_1_with_a_hint(capsys):
    code, out, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", closed_port_url(), "--retries", "0")
    assert code == 1
    assert out == ""
    assert "hymt: error: cannot reach the translation server" in err
    assert "connection refused" in err
    assert "hymt: hint: check that the server is running" in err
    assert "Traceback" not in err


def test_a_wrong_model_name_lists_the_served_ones(capsys, fake):
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url, "--model", "Hunyuan-MT-8B")
    assert code == 1
    assert "does not serve a model named 'Hunyuan-MT-8B'; it serves: Hunyuan-MT-7B" in err
    assert "--model Hunyuan-MT-7B" in err


def test_a_rejected_key_exits_1(capsys, fake):
    fake.behaviour.api_key = "right"
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url, "--api-key", "wrong")
    assert code == 1
    assert "rejected the API key" in err


def test_a_timeout_exits_1(capsys, fake):
    fake.behaviour.delay = 1.0
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url, "--timeout", "0.1")
    assert code == 1
    assert "did not answer within 0.1 s" in err


def test_a_broken_stream_exits_1_after_what_arrived(capsys, fake):
    fake.behaviour.reply = lambda prompt: "abcdefghijkl"
    fake.behaviour.chunk_chars = 4
    fake.behaviour.drop_stream_after = 1
    code, out, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url, "--stream")
    assert code == 1
    assert out == "abcd"
    assert "broke off after 4 characters" in err


def test_ctrl_c_exits_130(capsys, fake, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TranslationClient, "translate", interrupted)
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url)
    assert code == 130
    assert "interrupted" in err
    assert "Traceback" not in err


def test_a_closed_output_pipe_exits_141_quietly(fake, monkeypatch, capsys):
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = main(["languages"])
    err = capsys.readouterr().err
    assert code == 141
    assert err == ""


def test_an_internal_error_is_one_line_not_a_traceback(capsys, fake, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(TranslationClient, "translate", broken)
    code, _, err = run(capsys, "translate", "Hallo", "--to", "en", "--url", fake.url)
    assert code == 1
    assert "hymt: internal error: RuntimeError: something unexpected" in err
    assert "HYMT_DEBUG=1" in err
    assert "Traceback" not in err


# -- the installed script, for real ------------------------------------------------------------------------------------
def script_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES}
    env.update(values)
    return env


def test_installed_script_translates_standard_input(fake):
    result = subprocess.run(
        [str(HYMT), "translate", "-", "--to", "en", "--json"],
        input="今天天气很好".encode(),
        capture_output=True,
        env=script_env(HYMT_UPSTREAM_URL=fake.url),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    payload = json.loads(result.stdout)
    assert payload["translation"] == "英语 translation of: 今天天气很好"
    assert payload["source"] == "zh"


def test_installed_script_fails_cleanly_when_the_server_is_down():
    result = subprocess.run(
        [str(HYMT), "translate", "Hallo", "--to", "en", "--retries", "0"],
        capture_output=True,
        text=True,
        env=script_env(HYMT_UPSTREAM_URL=closed_port_url()),
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("hymt: error: cannot reach the translation server")
    assert "Traceback" not in result.stderr


def test_installed_script_usage_error_exits_2():
    result = subprocess.run(
        [str(HYMT), "translate", "Hallo", "--to", "klingon"],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown language code 'klingon'" in result.stderr
    assert "Traceback" not in result.stderr
