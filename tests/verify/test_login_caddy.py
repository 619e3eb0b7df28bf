"""`hymt verify` of a site behind the stack's basic auth for real: compose/Caddyfile in the pinned Caddy image with
the accounts file the stack role's template writes (a hash from the image's own `caddy hash-password`), in front of
the real gateway with access keys, before a fake vLLM that translates. The same paths as test_login.py's stand-in
proxy, against Caddy's own answers."""

from __future__ import annotations

import hashlib

import pytest

from hymt.verify.result import Status
from hymt.verify.run import verify
from hymt.verify.settings import Login, VerifySettings
from tests.ansible.test_stack_access import render
from tests.support.caddy import CADDY, bridge_gateway, caddy_in_front, docker
from tests.support.fake_openai import running
from tests.support.gateway import serving
from tests.support.web_deployment import gateway_settings
from tests.verify import fakes

pytestmark = pytest.mark.docker

USER = "ann"
PASSWORD = "caddy-login-Ü-2f96d0"
KEY = "caddy-login-key-77ab31"


def checks_of(url: str, login: Login | None) -> dict:
    report = verify(VerifySettings(url=url, profile="gpu", login=login, access_key=KEY, timeout=60))
    return {r.name: r for r in report.results}


def test_verify_logs_in_to_caddy_with_the_roles_accounts_file_and_fails_where_it_must(docker_engine, tmp_path):
    bridge = bridge_gateway()
    password_hash = docker("run", "--rm", CADDY, "caddy", "hash-password", "--plaintext", PASSWORD).strip()
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    render(rendered, stack_access_keys=[], stack_basic_auth_users=[{"user": USER, "password_hash": password_hash}])
    keys = tmp_path / "keys"
    keys.write_text(hashlib.sha256(KEY.encode()).hexdigest() + " verify\n", encoding="utf-8")
    with (
        running(reply=fakes.translating) as fake,
        serving(gateway_settings(fake, access_keys_file=str(keys)), host=bridge) as url,
        caddy_in_front(url, tmp_path) as (proxy, front),
    ):
        # No accounts file yet: the site is open, and a login given for it fails.
        open_site = checks_of(front, Login(USER, PASSWORD))
        # The role's accounts file where compose mounts access/proxy, then a reload.
        docker("exec", proxy, "mkdir", "-p", "/etc/caddy/access")
        docker("cp", str(rendered / "basic_auth.caddy"), f"{proxy}:/etc/caddy/access/basic_auth.caddy")
        docker("exec", proxy, "caddy", "reload", "--config", "/etc/caddy/Caddyfile")
        logged_in = checks_of(front, Login(USER, PASSWORD))
        wrong = checks_of(front, Login(USER, PASSWORD + "x"))
        without = checks_of(front, None)

    assert open_site["site login"].status is Status.FAIL
    assert "the site is open to anyone, although a login was given" in open_site["site login"].reason
    # The login and the key together: every check passes, vLLM's routes are Caddy's 404s behind the login, and the
    # translations carry the key as X-API-Key past Caddy's basic auth.
    assert {r.status for r in logged_in.values()} == {Status.PASS}, [
        r for r in logged_in.values() if r.status is not Status.PASS
    ]
    assert "401 Basic; the login for 'ann' is let in (200)" in logged_in["site login"].reason
    assert "the key given is accepted (200)" in logged_in["access control"].reason
    for checks, said in (
        (wrong, "the login for user 'ann' was refused (401)"),
        (without, "the site asks for a login: give --login USER with HYMT_VERIFY_PASSWORD"),
    ):
        login = checks.pop("site login")
        assert login.status is Status.FAIL and said in login.reason, login
        assert {r.status for r in checks.values()} == {Status.SKIP}
