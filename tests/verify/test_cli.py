"""`hymt verify` as users run it: exit codes, the summary line, --json, --strict, and clear refusals."""

from __future__ import annotations

import json

import pytest

from hymt.cli.main import main
from tests.support.net import free_port
from tests.support.web_deployment import SHARED_BY_TESTS
from tests.verify import fakes
from tests.verify.test_http import site


@pytest.fixture(scope="module")
def rehearsal_site():
    with site(fakes.gibberish, profile="rehearsal", web_settings=SHARED_BY_TESTS) as url:
        yield url


def test_a_rehearsal_declared_as_such_is_verified_and_the_summary_counts_everything(rehearsal_site, capsys):
    code = main(["verify", "--url", rehearsal_site, "--profile", "rehearsal"])
    out = capsys.readouterr().out
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("17 passed, 0 failed, 7 skipped") and last.endswith(": verified")
    assert "note: host checks not run" in out


def test_strict_fails_on_the_expected_skips(rehearsal_site, capsys):
    assert main(["verify", "--url", rehearsal_site, "--profile", "rehearsal", "--strict"]) == 1
    assert capsys.readouterr().out.strip().endswith("NOT verified")


def test_the_default_profile_is_gpu_and_a_rehearsal_then_fails(rehearsal_site, capsys):
    assert main(["verify", "--url", rehearsal_site, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["profile"] == "gpu" and report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["declared profile"]["status"] == "fail"
    assert all(set(c) >= {"target", "name", "status", "reason", "seconds"} for c in report["checks"])
    assert report["summary"]["failed"] >= 8  # the profile and every language


def test_the_url_comes_from_the_environment_too(rehearsal_site, capsys, monkeypatch):
    monkeypatch.setenv("HYMT_VERIFY_URL", rehearsal_site)
    assert main(["verify", "--profile", "rehearsal"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["verify"], "give the deployment's URL with --url"),
        (["verify", "--url", "example.com"], "--url must start with http:// or https://"),
        (["verify", "--url", f"http://127.0.0.1:{free_port()}"], "nothing answers at"),
        (
            ["verify", "--url", "http://x", "--inventory", "/nonexistent/inv.yml"],
            "no inventory at /nonexistent/inv.yml",
        ),
        (["verify", "--url", "http://x", "--host", "bad@"], "write it as user@address"),
    ],
)
def test_what_cannot_run_exits_2_with_what_to_do(argv, said, capsys, monkeypatch):
    monkeypatch.delenv("HYMT_VERIFY_URL", raising=False)
    monkeypatch.delenv("HYMT_PROFILE", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_an_unknown_profile_is_a_usage_error(capsys):
    assert main(["verify", "--url", "http://x", "--profile", "cpu"]) == 2
    assert "invalid choice: 'cpu'" in capsys.readouterr().err
