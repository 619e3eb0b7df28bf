"""`hymt verify` of a private deployment (HYMT_ACCESS_KEYS_FILE): with its key every check passes and a translation
without a key is shown to get 401; a wrong or missing key fails, and so does a key given for a deployment that
translates for anyone (its access control is off)."""

from __future__ import annotations

import hashlib

import pytest

from hymt.cli.main import main
from hymt.verify.result import Status
from hymt.verify.run import verify
from hymt.verify.settings import VerifySettings
from tests.verify import fakes
from tests.verify.test_http import site

KEY = "verify-5b8e2a7c0d14f396"


@pytest.fixture
def keys_file(tmp_path):
    path = tmp_path / "access_keys"
    path.write_text(hashlib.sha256(KEY.encode()).hexdigest() + " verify\n", encoding="utf-8")
    return str(path)


def results(url: str, key: str | None) -> dict:
    report = verify(VerifySettings(url=url, profile="gpu", access_key=key, timeout=60))
    return {r.name: r for r in report.results}


def test_a_private_deployment_with_its_key_passes_every_check(keys_file):
    with site(fakes.translating, web_settings={"access_keys_file": keys_file}) as url:
        checks = results(url, KEY)
    assert {r.status for r in checks.values()} == {Status.PASS}, [r for r in checks.values() if r.status != "pass"]
    assert "without a key gets 401" in checks["access control"].reason


def test_a_wrong_key_fails_the_access_check_and_the_translations(keys_file):
    with site(fakes.translating, web_settings={"access_keys_file": keys_file}) as url:
        checks = results(url, "not-the-key")
    assert checks["access control"].status is Status.FAIL
    assert "not accepted" in checks["access control"].reason
    assert checks["translate en->zh"].status is Status.FAIL and "401" in checks["translate en->zh"].reason


def test_without_a_key_verify_says_which_option_gives_it(keys_file, capsys):
    with site(fakes.translating, web_settings={"access_keys_file": keys_file}) as url:
        code = main(["verify", "--url", url, "--profile", "gpu"])
    out = capsys.readouterr().out
    assert code == 1
    assert "give it with --access-key or HYMT_ACCESS_KEY" in out


def test_a_key_given_for_an_open_deployment_fails_it():
    with site(fakes.translating) as url:
        checks = results(url, KEY)
    assert checks["access control"].status is Status.FAIL
    assert "translates for anyone" in checks["access control"].reason


def test_an_open_deployment_verified_without_a_key_passes_the_access_check():
    with site(fakes.translating) as url:
        checks = results(url, None)
    assert checks["access control"].status is Status.PASS and "open to everyone" in checks["access control"].reason
