"""`hymt verify` of a site behind basic auth at the proxy (hymt_basic_auth_users): the real gateway behind the
stand-in proxy of tests/verify/fakes.py asking for a login on everything but /healthz and /readyz, as the stack's
accounts file makes Caddy do (the same in the pinned Caddy image: test_login_caddy.py).

With the login every check passes and the login goes with every request; the `site login` check fails when the site
is open although a login was given, when the login is refused and when any password is let in; without a login, a
site that asks for one gets one failure saying what to give instead of a page of 401s; a login and an access key
work together; and the password shows nowhere: not in the report, its JSON, the errors, nor the URL it came in."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest

from hymt.cli.main import main
from hymt.core.exit import ExitStatus
from hymt.verify.result import Status, exit_code
from hymt.verify.run import Report, verify
from hymt.verify.settings import Login, VerifySettings
from tests.verify import fakes
from tests.verify.test_http import site_behind

USER = "ann"
# Not Latin-1 only: the login goes as UTF-8, as browsers send it and Caddy compares it.
PASSWORD = "staple-Ünï-8c1f47d2"
KEY = "login-and-key-93d0b6e1"
SECRETS = (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
GUARDED = {"login": (USER, PASSWORD)}


def run(url: str, login: Login | None = None, key: str | None = None) -> tuple[Report, dict]:
    report = verify(VerifySettings(url=url, profile="gpu", login=login, access_key=key, timeout=60))
    return report, {r.name: r for r in report.results}


def not_passed(report: Report) -> list:
    return [r for r in report.results if r.status is not Status.PASS]


def test_with_the_login_every_check_passes_and_the_login_goes_with_every_request():
    with site_behind(fakes.translating, door=GUARDED) as proxy:
        report, checks = run(proxy.url, Login(USER, PASSWORD))
    assert not not_passed(report), not_passed(report)
    assert exit_code(report.results, "gpu") == ExitStatus.OK
    assert "with a wrong password gets 401 Basic" in checks["site login"].reason
    assert "login for 'ann' is let in (200)" in checks["site login"].reason
    # Only the site login check's own two requests (without the login, with a wrong password) were refused: every
    # other one, the 56 probes of vLLM's routes included, carried the login.
    assert proxy.refused == ["/", "/"], proxy.refused
    assert len(proxy.seen) > 60


def test_a_login_given_for_a_site_open_to_anyone_fails_the_login_check():
    with site_behind(fakes.translating) as proxy:
        report, checks = run(proxy.url, Login(USER, PASSWORD))
    assert checks["site login"].status is Status.FAIL
    assert "/ answered 200 without a login: the site is open to anyone" in checks["site login"].reason
    assert "set hymt_basic_auth_users in the inventory" in checks["site login"].reason
    assert [r.name for r in not_passed(report)] == ["site login"]  # the rest of the site is still checked
    assert exit_code(report.results, "gpu") == ExitStatus.FAILURE


def test_a_wrong_password_fails_the_login_check_and_leaves_the_rest_unjudged():
    with site_behind(fakes.translating, door=GUARDED) as proxy:
        report, checks = run(proxy.url, Login(USER, "not-" + PASSWORD))
    login = checks.pop("site login")
    assert login.status is Status.FAIL
    assert "the login for user 'ann' was refused (401)" in login.reason
    assert "check the user and HYMT_VERIFY_PASSWORD against hymt_basic_auth_users" in login.reason
    # Not 20 failures of 401: the site's checks are skips no profile expects, so the run is not verified.
    assert checks and all(r.status is Status.SKIP for r in checks.values()), checks
    assert all(not r.expected_by("rehearsal") and "did not let verify in" in r.reason for r in checks.values())
    assert exit_code(report.results, "rehearsal") == ExitStatus.FAILURE


def test_a_proxy_letting_the_user_in_with_any_password_fails_the_login_check():
    with site_behind(fakes.translating, door={**GUARDED, "any_password": True}) as proxy:
        _, checks = run(proxy.url, Login(USER, PASSWORD))
    assert checks["site login"].status is Status.FAIL
    assert "a wrong password for 'ann' got 200, not 401" in checks["site login"].reason


def test_without_a_login_a_site_that_asks_for_one_gets_one_failure_saying_what_to_give(capsys, monkeypatch):
    monkeypatch.delenv("HYMT_VERIFY_PASSWORD", raising=False)
    with site_behind(fakes.translating, door=GUARDED) as proxy:
        code = main(["verify", "--url", proxy.url, "--profile", "gpu", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == ExitStatus.FAILURE
    failures = [c for c in report["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failures] == ["site login"]
    assert failures[0]["reason"].startswith("the site asks for a login: give --login USER with HYMT_VERIFY_PASSWORD")
    assert report["checks"][0]["name"] == "site login"  # the first line of the site's part says it


def test_an_open_site_verified_without_a_login_passes_the_login_check():
    with site_behind(fakes.translating) as proxy:
        _, checks = run(proxy.url)
    assert checks["site login"].status is Status.PASS
    assert checks["site login"].reason == "off: / answers 200 without a login (no basic auth at the proxy)"


def test_a_login_and_an_access_key_work_together(tmp_path):
    # With the login in Authorization, the key must go as X-API-Key: as Bearer, one would overwrite the other.
    keys = tmp_path / "access_keys"
    keys.write_text(hashlib.sha256(KEY.encode()).hexdigest() + " verify\n", encoding="utf-8")
    with site_behind(fakes.translating, web_settings={"access_keys_file": str(keys)}, door=GUARDED) as proxy:
        report, checks = run(proxy.url, Login(USER, PASSWORD), key=KEY)
    assert not not_passed(report), not_passed(report)
    assert "without a key gets 401; the key given is accepted (200)" in checks["access control"].reason
    assert checks["translate en->zh"].status is Status.PASS


@pytest.mark.parametrize("form", ["text", "json"])
def test_the_password_is_never_printed(form, capsys, monkeypatch):
    flags = ["--json"] if form == "json" else []
    monkeypatch.setenv("HYMT_VERIFY_PASSWORD", PASSWORD)
    with site_behind(fakes.translating, door=GUARDED) as proxy:
        verified = main(["verify", "--url", proxy.url, "--profile", "gpu", "--login", USER, *flags])
        shown = capsys.readouterr()
        monkeypatch.setenv("HYMT_VERIFY_PASSWORD", PASSWORD + "-wrong")
        refused = main(["verify", "--url", proxy.url, "--profile", "gpu", "--login", USER, *flags])
        shown_refused = capsys.readouterr()
    assert (verified, refused) == (ExitStatus.OK, ExitStatus.FAILURE), shown.out
    assert "site login" in shown.out and "was refused" in shown_refused.out
    for secret in SECRETS:
        for text in (shown.out, shown.err, shown_refused.out, shown_refused.err):
            assert secret not in text


def test_a_login_in_the_url_is_taken_out_of_it_and_used(capsys, monkeypatch):
    monkeypatch.delenv("HYMT_VERIFY_PASSWORD", raising=False)
    with site_behind(fakes.translating, door=GUARDED) as proxy:
        with_login = proxy.url.replace("http://", f"http://{USER}:{PASSWORD.replace('Ü', '%C3%9C')}@")
        code = main(["verify", "--url", with_login, "--profile", "gpu", "--json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == ExitStatus.OK, out
    assert report["url"] == proxy.url
    assert any("the URL's login was taken out of it" in note for note in report["notes"])
    assert all(secret not in out for secret in (*SECRETS, "%C3%9C"))


def test_the_password_is_read_from_standard_input_with_password_stdin(capsys, monkeypatch):
    monkeypatch.delenv("HYMT_VERIFY_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    with site_behind(fakes.translating, door=GUARDED) as proxy:
        code = main(["verify", "--url", proxy.url, "--profile", "gpu", "--login", USER, "--password-stdin"])
    out = capsys.readouterr().out
    assert code == ExitStatus.OK, out
    assert PASSWORD not in out


@pytest.mark.parametrize(
    ("argv", "env", "said"),
    [
        (["--login", USER], {}, "--login ann needs its password, but HYMT_VERIFY_PASSWORD is not set"),
        (["--login", USER], {"HYMT_VERIFY_PASSWORD": ""}, "HYMT_VERIFY_PASSWORD is not set"),
        (["--password-stdin"], {}, "--password-stdin reads the password of --login USER: give --login too"),
        (["--login", "a:b"], {"HYMT_VERIFY_PASSWORD": PASSWORD}, "give a user name without ':'"),
        (
            ["--login", USER, "--url", f"http://{USER}:{PASSWORD}@127.0.0.1:9"],
            {"HYMT_VERIFY_PASSWORD": PASSWORD},
            "the login is given twice, in the URL and with --login",
        ),
        (["--url", f"http://{USER}@127.0.0.1:9"], {}, "the URL names a user but no password: give --login ann"),
        (["--url", f"{USER}:{PASSWORD}@mt.example.com"], {}, "got '***@mt.example.com'"),
    ],
)
def test_a_login_that_cannot_be_used_exits_2_with_what_to_do_and_no_password(argv, env, said, capsys, monkeypatch):
    monkeypatch.delenv("HYMT_VERIFY_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    url = [] if "--url" in argv else ["--url", "http://127.0.0.1:9"]
    assert main(["verify", *url, "--profile", "gpu", *argv]) == ExitStatus.USAGE
    shown = capsys.readouterr()
    assert said in shown.err and "Traceback" not in shown.err
    assert all(secret not in shown.err + shown.out for secret in SECRETS)
