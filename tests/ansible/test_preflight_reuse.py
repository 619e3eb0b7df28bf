"""deploy.yml's look after provisioning keeps the first look's facts only while the host's packages and boot are as
the first look found them (preflight_reuse); otherwise, and without preflight_reuse, it looks again.

Each case runs the preflight role twice in one run on this machine (tests/ansible/playbooks/preflight_twice.yml); a
change between the two is a stand-in: the recorded state is altered, as a package install or a reboot would leave
it no longer matching the host."""

from __future__ import annotations

import pytest

from tests.ansible.conftest import Case

GATHER = "Gather the facts the roles need (once per run)"
REUSED = "Say that the facts are this run's earlier ones"

CASES = {
    "reuse-nothing-changed": Case(
        playbook="preflight_twice.yml", host_vars={"test_between": "nothing", "test_reuse": True}
    ),
    "reuse-after-a-change": Case(
        playbook="preflight_twice.yml", host_vars={"test_between": "a change", "test_reuse": True}
    ),
    "no-reuse-nothing-changed": Case(
        playbook="preflight_twice.yml", host_vars={"test_between": "nothing", "test_reuse": False}
    ),
}


def looks(run, host: str) -> int:
    return sum(1 for r in run.results if r.host == host and r.task.endswith(GATHER) and not r.skipped)


def said_reused(run, host: str) -> bool:
    return any(r.host == host and r.task.endswith(REUSED) and not r.skipped for r in run.results)


def test_an_unchanged_host_is_not_looked_at_again(local_runs):
    run = local_runs.result("reuse-nothing-changed")
    assert run.succeeded("reuse-nothing-changed"), run.explain("reuse-nothing-changed")
    assert looks(run, "reuse-nothing-changed") == 1, run.explain("reuse-nothing-changed")
    assert said_reused(run, "reuse-nothing-changed"), run.explain("reuse-nothing-changed")


@pytest.mark.parametrize("name", ["reuse-after-a-change", "no-reuse-nothing-changed"])
def test_the_second_pass_looks_again(local_runs, name):
    run = local_runs.result(name)
    assert run.succeeded(name), run.explain(name)
    assert looks(run, name) == 2, run.explain(name)
    assert not said_reused(run, name), run.explain(name)
