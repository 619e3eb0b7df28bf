"""The CPU image's entry point takes what the official image's `vllm serve` takes (no Docker needed: the server
module is replaced by a stand-in `python3` that prints the arguments it was given)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.repo import ROOT

ENTRYPOINT = ROOT / "compose/images/vllm-cpu/vllm-serve"


@pytest.fixture
def run(tmp_path):
    fake_python = tmp_path / "python3"
    fake_python.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\n')
    fake_python.chmod(0o755)

    def run_entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess:
        environment = {key: value for key, value in os.environ.items() if key != "HYMT_VLLM_EAGER"}
        environment |= {"PATH": f"{tmp_path}:{os.environ['PATH']}", **env}
        return subprocess.run(
            ["sh", str(ENTRYPOINT), *args], capture_output=True, text=True, env=environment, timeout=30
        )

    return run_entrypoint


def server_arguments(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["-m", "vllm.entrypoints.openai.api_server"]
    return lines[2:]


def test_a_leading_model_path_becomes_the_model_option(run):
    args = server_arguments(run("/models/x", "--served-model-name", "hy mt", "--max-model-len", "4096"))
    assert args == [
        "--model",
        "/models/x",
        "--served-model-name",
        "hy mt",
        "--max-model-len",
        "4096",
        "--enforce-eager",
    ]


def test_flags_only_pass_through(run):
    assert server_arguments(run("--model", "/models/x", "--port", "9000")) == [
        "--model",
        "/models/x",
        "--port",
        "9000",
        "--enforce-eager",
    ]


@pytest.mark.parametrize("flag", ["--enforce-eager", "--no-enforce-eager"])
def test_an_explicit_eager_choice_is_kept(run, flag):
    assert server_arguments(run("/models/x", flag)) == ["--model", "/models/x", flag]


def test_eager_default_can_be_turned_off(run):
    assert server_arguments(run("/models/x", HYMT_VLLM_EAGER="0")) == ["--model", "/models/x"]


def test_a_repeated_serve_is_refused_with_advice(run):
    result = run("serve", "/models/x")
    assert result.returncode == 2
    assert "drop 'serve'" in result.stderr
    assert result.stdout == ""
