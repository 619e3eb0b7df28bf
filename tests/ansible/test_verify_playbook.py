"""playbooks/verify.yml's login for a site behind basic auth (hymt_verify_login): run for real on this machine with a
stand-in for the hymt command (verify_hymt) that records what it was given. With a login, `--login USER
--password-stdin` is in the arguments and the password only on standard input: no process's command line shows it
(Ansible's `environment:` would put it on the command line of the shell it starts), nor the playbook's output, even
at -vvv, while the report still is shown. Without one nothing changes; a malformed one is refused saying what to
write."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.playbook import local_inventory, run_playbook
from tests.support.repo import ROOT

PLAYBOOK = ROOT / "playbooks/verify.yml"
PASSWORD = "vault-pw-5c0e19a7"
REPORT = "stand-in report: 1 passed, 0 failed, 0 skipped: verified"

# Records its arguments, its standard input and every command line on this machine that holds what it read.
STAND_IN = f"""#!{sys.executable}
import json, pathlib, sys
stdin = sys.stdin.read()
shown = []
for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
    try:
        words = cmdline.read_bytes().decode(errors="replace")
    except OSError:
        continue
    if stdin.strip() and stdin.strip() in words:
        shown.append(words.replace("\\0", " "))
record = pathlib.Path(__file__).with_name("called.json")
record.write_text(json.dumps({{"argv": sys.argv[1:], "stdin": stdin, "shown": shown}}))
print({REPORT!r})
"""


@pytest.fixture
def stand_in(tmp_path):
    path = tmp_path / "bin/hymt"
    path.parent.mkdir()
    path.write_text(STAND_IN, encoding="utf-8")
    path.chmod(0o755)
    return path


def verify_run(tmp_path, stand_in, login: object = None, verbosity: int = 0, monkeypatch=None):
    host = {"hymt_public_url": "http://203.0.113.7"}
    if login is not None:
        host["hymt_verify_login"] = login
    inventory = local_inventory(tmp_path / "inventory", {"gpu-1": host}, {"gpu_hosts": ["gpu-1"], "edge": ["gpu-1"]})
    if verbosity:
        monkeypatch.setenv("ANSIBLE_VERBOSITY", str(verbosity))  # run_playbook passes the environment on
    # A guard against a hung run, not a measure of speed.
    run = run_playbook(PLAYBOOK, inventory, extra_vars={"verify_hymt": str(stand_in)}, timeout=300)
    record = stand_in.with_name("called.json")
    return run, json.loads(record.read_text()) if record.exists() else None


def test_a_login_goes_as_an_option_and_its_password_on_standard_input_only(tmp_path, stand_in):
    run, called = verify_run(tmp_path, stand_in, {"user": "ann", "password": PASSWORD})
    assert run.succeeded("gpu-1"), run.explain()
    assert called["argv"][-3:] == ["--login", "ann", "--password-stdin"], called["argv"]
    assert called["stdin"].strip() == PASSWORD
    assert called["shown"] == []  # no command line held the password while hymt verify ran
    assert REPORT in run.messages("gpu-1")  # no_log hides the password, not the report
    assert PASSWORD not in run.stdout + run.stderr


def test_nothing_of_the_password_shows_at_verbosity_vvvv(tmp_path, stand_in, monkeypatch):
    run, called = verify_run(tmp_path, stand_in, {"user": "ann", "password": PASSWORD}, 4, monkeypatch)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "AnsiballZ_command.py" in run.stdout + run.stderr  # really verbose: the commands Ansible ran are shown
    assert called["stdin"].strip() == PASSWORD and called["shown"] == []
    assert PASSWORD not in run.stdout + run.stderr


def test_without_a_login_verify_is_run_as_before(tmp_path, stand_in):
    run, called = verify_run(tmp_path, stand_in)
    assert run.succeeded("gpu-1"), run.explain()
    assert "--login" not in called["argv"] and "--password-stdin" not in called["argv"]
    assert called["argv"][:6] == ["verify", "--inventory", str(tmp_path / "inventory/inventory.yml"), "--url",
                                  "http://203.0.113.7", "--profile"]  # fmt: skip
    assert called["stdin"] == ""


@pytest.mark.parametrize("login", [{"user": "ann"}, {"user": "", "password": PASSWORD}, "ann:" + PASSWORD])
def test_a_malformed_login_is_refused_before_verify_runs(tmp_path, stand_in, login):
    run, called = verify_run(tmp_path, stand_in, login)
    assert called is None
    refusal = run.refusal("gpu-1")
    assert "hymt_verify_login must be one of hymt_basic_auth_users' accounts as {user: <name>" in refusal
    assert PASSWORD not in run.stdout + run.stderr
