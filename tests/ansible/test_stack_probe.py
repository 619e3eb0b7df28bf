"""The stack role's one-call looks at a host (roles/stack/library/stack_probe.py, stack_ready.py) and the comparison
that decides from them whether a writing task runs (hymt.provision.stack_release.differs, the stack_differs filter).

The comparison must agree with the writing modules: a path it calls unchanged is one the copy, template or file
module would leave alone, and anything edited by hand on the host (content, mode, owner, a file made a link) differs,
so the role repairs it. The modules run here in-process, as Ansible would run them on a host, on a made-up tree and a
stand-in `docker` command; the rehearsal (tests/deploy/test_lifecycle.py) runs them through Ansible."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from hymt.provision.stack_release import differs
from tests.ansible.modules import load_module, run_module
from tests.support.repo import ROOT

LIBRARY = ROOT / "roles/stack/library"
ME = {"uid": os.getuid(), "gid": os.getgid()}


def load(name: str):
    return load_module(LIBRARY / f"{name}.py")


@pytest.fixture
def probe(monkeypatch):
    module = load("stack_probe")
    return lambda **params: run_module(module, monkeypatch, **params)


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A stack directory as the role leaves it: one release with a compose file and a .env, current pointing at it,
    an older release, the key, and a hidden directory and a stray file in releases/ that are not releases."""
    release = tmp_path / "releases/abc123"
    release.mkdir(parents=True)
    (release / "compose.yaml").write_text("services: {}\n")
    (release / ".env").write_text("HYMT_VLLM_API_KEY=k\n")
    (release / ".env").chmod(0o600)
    (tmp_path / "releases/older").mkdir()
    (tmp_path / "releases/.hidden").mkdir()
    (tmp_path / "releases/stray.txt").write_text("")
    (tmp_path / "secrets").mkdir(mode=0o700)
    (tmp_path / "secrets/api_key").write_text("f" * 64)
    (tmp_path / "current").symlink_to("releases/abc123")
    return tmp_path


def test_each_path_is_reported_as_the_file_modules_would_compare_it(probe, stack: Path):
    compose = stack / "releases/abc123/compose.yaml"
    paths = [str(stack / "secrets"), str(compose), str(stack / "current"), str(stack / "missing")]
    result = probe(paths=paths)
    assert result["changed"] is False
    found = result["paths"]
    assert found[str(stack / "secrets")] == {"type": "directory", "mode": "0700", **ME}
    assert found[str(compose)] == {
        "type": "file",
        "mode": "0644",
        "checksum": hashlib.sha1(compose.read_bytes()).hexdigest(),
        **ME,
    }
    # The link itself, not what it points at: file state=link compares its target.
    assert found[str(stack / "current")]["type"] == "link"
    assert found[str(stack / "current")]["target"] == "releases/abc123"
    assert found[str(stack / "missing")] == {"type": "absent"}
    assert result["present"] == paths[:3]


def test_a_path_below_a_file_is_absent_and_not_an_error(probe, stack: Path):
    below = str(stack / "releases/abc123/compose.yaml/x")
    assert probe(paths=[below])["paths"][below] == {"type": "absent"}


def test_the_secrets_are_read_and_an_absent_one_is_null(probe, stack: Path):
    key, password = str(stack / "secrets/api_key"), str(stack / "secrets/grafana_admin_password")
    assert probe(read=[key, password])["contents"] == {key: "f" * 64, password: None}


def test_the_releases_are_listed_as_find_lists_directories(probe, stack: Path):
    releases = stack / "releases"
    older = releases / "older"
    os.utime(older, (1_000_000, 1_000_000))
    listing = probe(list=[str(releases), str(stack / "none")])["listings"]
    assert listing[str(stack / "none")] == []
    assert {entry["path"]: entry["mtime"] for entry in listing[str(releases)]} == {
        str(releases / "abc123"): (releases / "abc123").stat().st_mtime,
        str(older): 1_000_000,
    }


def test_a_relative_path_is_refused(probe):
    result = probe(paths=["opt/hymt"])
    assert result.get("failed") and "opt/hymt" in result["msg"]


# The comparison, on what the probe reports.


def looked_at(probe, path: Path) -> dict:
    return probe(paths=[str(path)])["paths"][str(path)]


def test_a_file_in_place_does_not_differ_and_a_hand_edit_does(probe, stack: Path, tmp_path_factory):
    source = tmp_path_factory.mktemp("compose") / "compose.yaml"
    source.write_text("services: {}\n")
    dest = stack / "releases/abc123/compose.yaml"
    mine = {"uid": ME["uid"], "gid": ME["gid"]}
    assert not differs(looked_at(probe, dest), "file", mode="0644", src=str(source), **mine)
    assert differs(looked_at(probe, dest), "file", mode="0600", src=str(source), **mine)
    dest.write_text("services: {edited: {}}\n")
    assert differs(looked_at(probe, dest), "file", mode="0644", src=str(source), **mine)


def test_a_file_owned_by_someone_else_differs(probe, stack: Path):
    found = looked_at(probe, stack / "releases/abc123/.env")
    text = "HYMT_VLLM_API_KEY=k\n"
    assert not differs(found, "file", mode="0600", content=text, uid=ME["uid"], gid=ME["gid"])
    assert differs(found, "file", mode="0600", content=text, uid=ME["uid"] + 1, gid=ME["gid"])
    assert differs(found, "file", mode="0600", content=text.replace("k", "x"), uid=ME["uid"], gid=ME["gid"])


def test_a_file_made_a_link_differs(probe, stack: Path):
    dest = stack / "releases/abc123/compose.yaml"
    dest.unlink()
    dest.symlink_to("/etc/hostname")
    assert differs(looked_at(probe, dest), "file", mode="0644", content="services: {}\n", **ME)


def test_the_active_release_link_is_compared_by_its_target(probe, stack: Path):
    found = looked_at(probe, stack / "current")
    assert not differs(found, "link", target="releases/abc123", **ME)
    assert differs(found, "link", target="releases/def456", **ME)
    # A directory where the link should be is not the link.
    assert differs(looked_at(probe, stack / "releases"), "link", target="releases/abc123", **ME)


def test_a_directory_is_compared_by_type_mode_and_owner(probe, stack: Path):
    found = looked_at(probe, stack / "secrets")
    assert not differs(found, "directory", mode="0700", **ME)
    assert not differs(found, "directory", mode=0o700, **ME)
    assert differs(found, "directory", mode="0755", **ME)
    assert differs(looked_at(probe, stack / "missing"), "directory", mode="0755", **ME)
    # A file of the directory's mode and owner where the directory should be: the type alone differs.
    made_a_file = stack / "made-a-file"
    made_a_file.write_text("")
    made_a_file.chmod(0o755)
    assert differs(looked_at(probe, made_a_file), "directory", mode="0755", **ME)


def test_what_was_not_looked_at_or_cannot_be_proved_differs():
    # A path the probe was not asked about (the role's .get() gives None): the writing task must decide.
    assert differs(None, "directory", mode="0755")
    # A file without a source or content, a link without a target: nothing shows they are right.
    found_file = {"type": "file", "mode": "0644", "uid": 0, "gid": 0, "checksum": "0" * 40}
    assert differs(found_file, "file", mode="0644")
    assert differs({"type": "link", "target": "x", "mode": "0777", "uid": 0, "gid": 0}, "link")
    # A mode that is no mode.
    assert differs({"type": "directory", "mode": "0755", "uid": 0, "gid": 0}, "directory", mode="rwx")
    with pytest.raises(ValueError, match="state"):
        differs(found_file, "absent")


def test_the_owner_is_root_unless_told(probe, stack: Path):
    found = looked_at(probe, stack / "secrets")
    assert differs(found, "directory", mode="0700") == (ME != {"uid": 0, "gid": 0})
    assert not differs(found | {"uid": 0, "gid": 0}, "directory", mode="0700")


# stack_ready, with a stand-in for Docker's command line.

HEALTHY = {"Status": "running", "Health": {"Status": "healthy"}, "ExitCode": 0}


@pytest.fixture
def docker(tmp_path: Path):
    """A `docker` that answers inspect with the given container (or "No such container") and exec with the given
    exit code, and records its calls."""
    calls = tmp_path / "calls"

    def make(container: dict | None, exec_rc: int = 0, exec_stderr: str = "") -> Path:
        inspect = json.dumps([container]) if container is not None else ""
        script = tmp_path / "docker"
        script.write_text(
            "#!/bin/sh\n"
            f'echo "$*" >> {calls}\n'
            'case "$1" in\n'
            "  container)\n"
            + (
                f"    cat <<'EOF'\n{inspect}\nEOF\n    exit 0;;\n"
                if container is not None
                else '    echo "Error: No such container: $3" >&2; exit 1;;\n'
            )
            + f"  exec) echo {json.dumps(exec_stderr)} >&2; exit {exec_rc};;\n"
            "esac\nexit 99\n"
        )
        script.chmod(0o755)
        return script

    make.calls = lambda: calls.read_text().splitlines() if calls.exists() else []
    return make


@pytest.fixture
def ready(monkeypatch):
    module = load("stack_ready")
    return lambda docker, **params: run_module(
        module, monkeypatch, vllm_container="hymt-vllm-1", web_container="hymt-web-1", docker=str(docker), **params
    )


def test_a_healthy_vllm_and_a_ready_web_app_in_one_call(ready, docker):
    result = ready(docker({"State": HEALTHY, "RestartCount": 0}))
    assert result["changed"] is False
    assert result["vllm"] == {"exists": True, "container": {"State": HEALTHY, "RestartCount": 0}}
    assert result["web"] == {"asked": True, "rc": 0, "stderr": ""}
    inspect_call, exec_call = docker.calls()
    assert inspect_call == "container inspect hymt-vllm-1"
    assert exec_call.startswith("exec hymt-web-1 python3 -c ") and exec_call.endswith(" http://127.0.0.1:8000/readyz")


def test_the_web_app_is_not_asked_while_vllm_loads(ready, docker):
    starting = {"Status": "running", "Health": {"Status": "starting"}}
    result = ready(docker({"State": starting, "RestartCount": 1}))
    assert result["vllm"]["container"] == {"State": starting, "RestartCount": 1}
    assert result["web"]["asked"] is False and result["web"]["rc"] is None
    assert len(docker.calls()) == 1


def test_a_web_app_that_is_not_ready_says_why(ready, docker):
    result = ready(docker({"State": HEALTHY, "RestartCount": 0}, exec_rc=1, exec_stderr="HTTP Error 503"))
    assert result["web"] == {"asked": True, "rc": 1, "stderr": "HTTP Error 503"}


def test_a_missing_vllm_container_is_reported_not_failed(ready, docker):
    result = ready(docker(None))
    assert not result.get("failed"), result
    assert result["vllm"] == {"exists": False, "container": {}}
    assert result["web"]["asked"] is False


def test_a_docker_that_does_not_answer_fails_saying_so(ready, tmp_path: Path):
    broken = tmp_path / "docker"
    broken.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    broken.chmod(0o755)
    result = ready(broken)
    assert result.get("failed") and "Cannot connect to the Docker daemon" in result["msg"]
    assert "vllm" not in result
