"""The stack role's access files, rendered by its own templates: the web app reads the keys file it writes (digests
and labels, named after its contents in HYMT_ACCESS_KEYS_FILE), and nothing is written or set when both lists are
empty. The basic auth file is served by Caddy in tests/docker/test_basic_auth.py."""

from __future__ import annotations

import hashlib

import pytest

from hymt_web import Settings
from tests.support.playbook import run_playbook
from tests.support.repo import ROOT

PLAYBOOK = ROOT / "tests/ansible/playbooks/stack_access.yml"


def render(tmp_path, **variables) -> dict[str, str]:
    run = run_playbook(PLAYBOOK, "localhost,", extra_vars={"out_dir": str(tmp_path), **variables}, timeout=900)
    assert run.returncode == 0, run.explain()
    return {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}


def test_the_keys_file_the_role_writes_is_the_one_the_web_app_reads(tmp_path):
    key = "k-" + "9" * 30
    digest = hashlib.sha256(key.encode()).hexdigest()
    files = render(
        tmp_path,
        stack_access_keys=[{"label": "alice", "sha256": digest.upper()}, {"label": "ci bot", "sha256": "a" * 64}],
        stack_basic_auth_users=[],
    )
    env = dict(line.split("=", 1) for line in files.pop(".env").splitlines() if "=" in line and line[0] != "#")
    (name,) = files
    assert env["HYMT_ACCESS_KEYS_FILE"] == f"/etc/hymt/access/{name}" and name.startswith("keys-")
    settings = Settings(access_keys_file=str(tmp_path / name))
    assert [entry.label for entry in settings.access_keys.keys] == ["alice", "ci bot"]
    assert settings.access_keys.match(key).label == "alice"


def test_a_keys_own_rate_and_burst_reach_the_web_apps_limiter(tmp_path):
    keys = [
        {"label": "alice", "sha256": "a" * 64, "rate": 10, "burst": 3},
        {"label": "ci", "sha256": "b" * 64, "rate": 120},
        {"label": "bob", "sha256": "c" * 64},
    ]
    files = render(tmp_path, stack_access_keys=keys, stack_basic_auth_users=[])
    (name,) = (file for file in files if file.startswith("keys-"))
    settings = Settings(access_keys_file=str(tmp_path / name))
    assert [entry.label for entry in settings.access_keys.keys] == ["alice", "ci", "bob"]
    assert settings.access_keys.own_limits == {"key:alice": (10, 3), "key:ci": (120, None)}


def test_the_glossaries_the_role_writes_are_the_ones_the_web_app_reads(tmp_path):
    glossaries = {
        "product-de": {
            "source_lang": "en",
            "target_lang": "de",
            "entries": [{"source": "release", "target": "Freigabe"}],
        },
        "zh.en": {"source_lang": "zh", "target_lang": "en", "entries": [{"source": "混元", "target": "Hunyuan"}]},
    }
    files = render(tmp_path, stack_access_keys=[], stack_basic_auth_users=[], stack_glossaries=glossaries)
    env = dict(line.split("=", 1) for line in files.pop(".env").splitlines() if "=" in line and line[0] != "#")
    (name,) = files
    assert env["HYMT_GLOSSARIES_FILE"] == f"/etc/hymt/access/{name}" and name.startswith("glossaries-")
    read = Settings(glossaries_file=str(tmp_path / name)).glossaries
    assert {key: (g.source_lang, g.target_lang, g.entries) for key, g in read.items()} == {
        "product-de": ("en", "de", (("release", "Freigabe"),)),
        "zh.en": ("zh", "en", (("混元", "Hunyuan"),)),
    }


@pytest.mark.parametrize(
    "variables",
    [
        {"stack_access_keys": [{"label": "alice", "sha256": "a" * 64, "rate": 0}]},
        {"stack_access_keys": [{"label": "alice", "sha256": "a" * 64, "burst": "many"}]},
        {"stack_access_keys": [{"label": "alice rate=5", "sha256": "a" * 64}]},
        {"stack_glossaries": {"product de": {"source_lang": "en", "target_lang": "de", "entries": []}}},
        {"stack_glossaries": {"g": {"source_lang": "en", "target_lang": "de", "entries": []}}},
        {"stack_glossaries": {"g": {"source_lang": "en", "target_lang": "de", "entries": [{"source": "a"}]}}},
    ],
    ids=["rate-0", "burst-not-a-number", "a-label-ending-in-a-limit", "a-name-with-a-space", "no-entries", "no-target"],
)
def test_bad_limits_or_glossaries_stop_the_role_saying_what_to_write(tmp_path, variables):
    variables = {"stack_access_keys": [], "stack_basic_auth_users": [], **variables}
    run = run_playbook(PLAYBOOK, "localhost,", extra_vars={"out_dir": str(tmp_path), **variables}, timeout=900)
    message = run.refusal("localhost")
    assert ("rate" in message and "burst" in message) or "source_lang, target_lang, entries" in message
    assert list(tmp_path.iterdir()) == []


def test_with_no_keys_and_no_users_nothing_is_written_and_the_service_is_open(tmp_path):
    files = render(tmp_path, stack_access_keys=[], stack_basic_auth_users=[])
    assert list(files) == [".env"]
    assert "HYMT_ACCESS_KEYS_FILE" not in files[".env"]


HASH = "$2a$14$" + "a" * 53
# What each refusal tells the user to write: a key's digest, never the key; a password's hash from Caddy.
KEYS = "never the key"
USERS = "caddy hash-password"
DEEPL_PATHS = ["/v2/translate", "/v2/languages", "/v2/usage", "/v2/glossaries", "/v2/glossaries/*"]


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"stack_access_keys": [{"label": "alice", "sha256": "the key itself"}], "stack_basic_auth_users": []}, KEYS),
        ({"stack_access_keys": [{"label": "", "sha256": "a" * 64}], "stack_basic_auth_users": []}, KEYS),
        ({"stack_access_keys": [], "stack_basic_auth_users": [{"user": "ann", "password_hash": "plain"}]}, USERS),
        ({"stack_access_keys": [], "stack_basic_auth_users": [{"user": "ann marie", "password_hash": HASH}]}, USERS),
    ],
    ids=["a-key-instead-of-its-digest", "no-label", "a-password-instead-of-its-hash", "a-user-with-a-space"],
)
def test_bad_entries_stop_the_role_saying_what_to_write(tmp_path, variables, says):
    run = run_playbook(PLAYBOOK, "localhost,", extra_vars={"out_dir": str(tmp_path), **variables}, timeout=900)
    message = run.refusal("localhost")
    assert says in message
    assert list(tmp_path.iterdir()) == []


def test_the_compatible_apis_flow_to_the_web_app_and_past_the_proxys_login(tmp_path):
    """hymt_compat_apis becomes HYMT_COMPAT_APIS, which the web app accepts with the keys file beside it; the basic
    auth file leaves exactly those APIs' paths to their keys (their clients cannot log in to the proxy)."""
    files = render(
        tmp_path,
        stack_access_keys=[{"label": "alice", "sha256": "a" * 64}],
        stack_basic_auth_users=[{"user": "ann", "password_hash": HASH}],
        stack_compat_apis=["deepl"],
    )
    env = dict(line.split("=", 1) for line in files[".env"].splitlines() if "=" in line and line[0] != "#")
    assert env["HYMT_COMPAT_APIS"] == "deepl"
    keys = str(tmp_path / env["HYMT_ACCESS_KEYS_FILE"].rsplit("/", 1)[1])
    assert Settings.from_env({"HYMT_COMPAT_APIS": env["HYMT_COMPAT_APIS"], "HYMT_ACCESS_KEYS_FILE": keys}).compat
    login = next(line for line in files["basic_auth.caddy"].splitlines() if line.startswith("@hymt_login"))
    assert login.split() == ["@hymt_login", "not", "path", "/healthz", "/readyz", *DEEPL_PATHS]


def test_without_compatible_apis_the_login_covers_their_paths_and_nothing_is_set(tmp_path):
    files = render(tmp_path, stack_access_keys=[], stack_basic_auth_users=[{"user": "ann", "password_hash": HASH}])
    assert "HYMT_COMPAT_APIS" not in files[".env"]
    assert "/v2/translate" not in files["basic_auth.caddy"]


def test_compatible_apis_without_access_keys_stop_the_role(tmp_path):
    variables = {"stack_access_keys": [], "stack_basic_auth_users": [], "stack_compat_apis": ["libretranslate"]}
    run = run_playbook(PLAYBOOK, "localhost,", extra_vars={"out_dir": str(tmp_path), **variables}, timeout=900)
    assert "needs hymt_access_keys" in run.refusal("localhost")
    assert list(tmp_path.iterdir()) == []


def test_the_model_family_reaches_the_web_app_only_when_set(tmp_path):
    (tmp_path / "set").mkdir()
    (tmp_path / "unset").mkdir()
    files = render(tmp_path / "set", stack_access_keys=[], stack_basic_auth_users=[], stack_model_family="hy-mt2")
    env = dict(line.split("=", 1) for line in files[".env"].splitlines() if "=" in line and line[0] != "#")
    assert env["HYMT_MODEL_FAMILY"] == "hy-mt2"
    assert Settings.from_env({**env, "HYMT_SERVED_MODEL": "translator"}).model_profile.family == "hy-mt2"
    unset = render(tmp_path / "unset", stack_access_keys=[], stack_basic_auth_users=[])
    assert "HYMT_MODEL_FAMILY" not in unset[".env"]  # an existing deployment's release stays the same
