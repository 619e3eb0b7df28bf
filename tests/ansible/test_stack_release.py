"""The stack role's release, written by its own tasks (tasks/release.yml, tasks/prune.yml) into a directory of this
machine: a re-run that finds it in place makes no module call that writes (every writing task is skipped on what the
role's one look at the host, library/stack_probe.py, found), and what was changed by hand there (a compose file's
content, the .env's mode, a directory that went, the active release link) is put back by the next run, and only that.
The rehearsal (tests/deploy/test_lifecycle.py) shows the same on a host, through SSH, with the stack running."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import require
from tests.support.playbook import local_inventory, run_playbook
from tests.support.repo import ROOT

PLAYBOOK = ROOT / "tests/ansible/playbooks/stack_release.yml"
HOST = "stack"
# The tasks that write; on a re-run each must be skipped (a loop: every item skipped).
WRITING = (
    "Make the stack's directories",
    "Generate the vLLM API key once (32 random bytes, kept on the host)",
    "Make the release's directory",
    "Install the compose files",
    "Make the release's access directories (mounted read-only into web and proxy)",
    "Write the release's settings (.env)",
    "Make the release the active one",
    "Remove all but the newest releases",
)


class Stack:
    def __init__(self, directory: Path):
        self.dir = directory / "opt-hymt-stack"
        self.inventory = local_inventory(
            directory, {HOST: {}}, {"rehearsal": [HOST], "gpu_hosts": [HOST], "edge": [HOST]}
        )

    def run(self, check: bool = False, **extra_vars):
        return run_playbook(
            PLAYBOOK, self.inventory, extra_vars={"stack_dir": str(self.dir), **extra_vars}, check=check, timeout=600
        )

    @property
    def release(self) -> Path:
        return self.dir / "releases" / os.readlink(self.dir / "current").rsplit("/", 1)[-1]


def task(run, name: str):
    found = [result for result in run.results if result.task == f"stack : {name}" and result.host == HOST]
    assert found, f"no task {name!r}:\n{run.explain()}"
    return found[-1]


def ran(run, name: str) -> list[str]:
    """The items (or the task itself, as "") that made a module call on the host."""
    result = task(run, name).result
    items = result.get("results")
    if items is None:
        return [] if result.get("skipped") else [""]
    return [str(item.get("item", "")) for item in items if not item.get("skipped")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    require(os.geteuid() == 0, "the stack role makes its files root's: run as root")
    stack = Stack(tmp_path_factory.mktemp("stack-release"))
    first = stack.run()
    assert first.returncode == 0, first.explain()
    assert first.changed_count(HOST) > 0
    return stack


def test_a_re_run_finds_the_release_in_place_and_writes_nothing(stack):
    again = stack.run()
    assert again.returncode == 0 and again.changed_count(HOST) == 0, again.explain()
    for name in WRITING:
        assert ran(again, name) == [], f"{name} ran again: {ran(again, name)}"
    # Nor are the looks of old (one stat, slurp or find a path) there any more: one probe.
    assert not [
        r.task for r in again.results if r.task in ("Look for the API key", "Read the API key", "List the releases")
    ]


def test_the_release_holds_compose_s_files_the_key_and_the_settings(stack):
    release = stack.release
    for name in ("compose.yaml", "compose.rehearsal.yaml", "Caddyfile"):
        assert (release / name).read_bytes() == (ROOT / "compose" / name).read_bytes(), name
        assert (release / name).stat().st_mode & 0o7777 == 0o644
    key = (stack.dir / "secrets/api_key").read_text()
    assert len(key) == 64
    env = (release / ".env").read_text()
    assert f"={key}\n" in env, "the .env does not carry the key"
    assert (release / ".env").stat().st_mode & 0o7777 == 0o600
    assert (stack.dir / "secrets").stat().st_mode & 0o7777 == 0o700


def test_what_was_changed_by_hand_is_put_back_and_only_that(stack):
    release = stack.release
    (release / "compose.yaml").write_text("services: {}\n")
    (release / ".env").chmod(0o644)
    (release / "access/proxy").rmdir()
    key = (stack.dir / "secrets/api_key").read_text()
    repaired = stack.run()
    assert repaired.returncode == 0, repaired.explain()
    assert ran(repaired, "Install the compose files") == ["compose.yaml"]
    assert ran(repaired, "Write the release's settings (.env)") == [""]
    assert ran(repaired, "Make the release's access directories (mounted read-only into web and proxy)") == [
        "access/proxy"
    ]
    assert ran(repaired, "Make the release's directory") == []
    assert (release / "compose.yaml").read_bytes() == (ROOT / "compose/compose.yaml").read_bytes()
    assert (release / ".env").stat().st_mode & 0o7777 == 0o600
    assert (release / "access/proxy").is_dir()
    assert (stack.dir / "secrets/api_key").read_text() == key, "the key changed"
    assert stack.run().changed_count(HOST) == 0


def test_a_check_run_reports_a_hand_edit_and_leaves_it(stack):
    compose = stack.release / "compose.yaml"
    compose.write_text("services: {edited: {}}\n")
    try:
        checked = stack.run(check=True)
        assert checked.returncode == 0, checked.explain()
        assert ran(checked, "Install the compose files") == ["compose.yaml"]
        assert task(checked, "Install the compose files").changed
        assert compose.read_text() == "services: {edited: {}}\n"
    finally:
        assert stack.run().returncode == 0


def test_a_link_pointed_elsewhere_by_hand_is_pointed_back(stack):
    release = stack.release
    current = stack.dir / "current"
    current.unlink()
    current.symlink_to("releases/elsewhere")
    relinked = stack.run()
    assert relinked.returncode == 0, relinked.explain()
    assert ran(relinked, "Make the release the active one") == [""]
    assert os.readlink(current) == f"releases/{release.name}"


def test_new_settings_make_a_new_release_and_the_oldest_go(stack):
    active = stack.release.name
    # Three older releases, oldest first by time: with the new one and the active one, stack_keep_releases (3) keeps
    # the new one and the two newest others.
    for age, name in enumerate(("old-3", "old-2", "old-1")):
        (stack.dir / "releases" / name).mkdir()
        when = 1_000_000 + age * 1000
        os.utime(stack.dir / "releases" / name, (when, when))
    changed = stack.run(stack_env={"HYMT_VLLM_MAX_NUM_SEQS": 3})
    assert changed.returncode == 0, changed.explain()
    new = stack.release.name
    assert new != active
    kept = sorted(path.name for path in (stack.dir / "releases").iterdir())
    assert kept == sorted([new, active, "old-1"]), kept
    # Every compose file of the new release was installed (none was there to compare with).
    assert len(ran(changed, "Install the compose files")) == len(
        task(changed, "Install the compose files").result["results"]
    )
    digest = hashlib.sha1((stack.release / "compose.yaml").read_bytes()).hexdigest()
    assert digest == hashlib.sha1((ROOT / "compose/compose.yaml").read_bytes()).hexdigest()


def test_the_monitoring_profile_s_release_re_runs_without_writing(tmp_path_factory):
    # Grafana's password is generated once and carried in the .env like the key: the re-run reads both in the one look
    # and finds the .env, the monitoring directories and the textfile directory in place.
    require(os.geteuid() == 0, "the stack role makes its files root's: run as root")
    directory = tmp_path_factory.mktemp("stack-monitoring")
    stack = Stack(directory)
    monitoring = {
        # The inventory's names: the images' list (hymt_images) takes the monitoring images from them.
        "hymt_monitoring": True,
        "hymt_monitoring_grafana": True,
        "stack_node_exporter_textfile_dir": str(directory / "textfile"),
    }
    first = stack.run(**monitoring)
    assert first.returncode == 0, first.explain()
    password = (stack.dir / "secrets/grafana_admin_password").read_text()
    assert len(password) == 32 and f"={password}\n" in (stack.release / ".env").read_text()
    assert (stack.release / "monitoring/prometheus/rules/hymt.yml").is_file()
    again = stack.run(**monitoring)
    assert again.returncode == 0 and again.changed_count(HOST) == 0, again.explain()
    for name in (
        *WRITING,
        "Make the release's monitoring directories",
        "Generate Grafana's admin password once (kept on the host)",
        "Read Grafana's admin password just generated",
        "Make the node exporter's textfile directory",
    ):
        assert ran(again, name) == [], f"{name} ran again: {ran(again, name)}"
