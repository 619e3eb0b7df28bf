"""The watchdog's decisions (roles/watchdog/files/hymt_watchdog.py): when a service counts as failing, when it is
restarted, and when the watchdog gives up; then one whole run against a stand-in `docker` on PATH."""

from __future__ import annotations

import calendar
import importlib.util
import json
import os
import stat
import subprocess
import sys

import pytest

from tests.support.repo import ROOT

SCRIPT = ROOT / "roles/watchdog/files/hymt_watchdog.py"
_spec = importlib.util.spec_from_file_location("hymt_watchdog", SCRIPT)
watchdog = importlib.util.module_from_spec(_spec)
sys.modules["hymt_watchdog"] = watchdog
_spec.loader.exec_module(watchdog)

Look, Memory, Policy, decide = watchdog.Look, watchdog.Memory, watchdog.Policy, watchdog.decide


def healthy(service: str = "vllm", ready: bool | None = True) -> Look:
    return Look(service, running=True, health="healthy", ready=ready)


@pytest.mark.parametrize(
    ("look", "counts"),
    [
        (Look("vllm", running=True, health="unhealthy"), True),
        (healthy(ready=False), True),  # answers /health, generates nothing: wedged
        (healthy(ready=True), False),
        (Look("vllm", running=True, health="starting", ready=None), False),  # the model is loading
        (Look("vllm", running=False, health="unhealthy"), False),  # stopped: Docker's restart policy or a person
        (Look("proxy", running=True, health=""), False),  # no health check
        # Docker stopped running its checks (after `systemctl restart docker` with live-restore, seen on 20.10):
        (Look("vllm", running=True, health="starting", health_age=500), True),
        (Look("web", running=True, health="healthy", ready=None, health_age=500), True),
        (Look("web", running=True, health="healthy", ready=None, health_age=20), False),
    ],
)
def test_what_counts_as_failing(look, counts):
    assert (watchdog.failing(look) is not None) is counts


def test_a_service_is_restarted_after_threshold_failing_looks_in_a_row_and_counting_starts_again():
    memory, policy, wedged = Memory(), Policy(threshold=3), [healthy(ready=False), healthy("web", None)]
    first = [decide(wedged, memory, policy, now=t)[0] for t in (0, 10)]
    restart, said = decide(wedged, memory, policy, now=20)
    assert first == [[], []] and restart == ["vllm"]
    assert "restarting it after 3 failing looks" in said[-1]
    assert decide(wedged, memory, policy, now=30)[0] == []  # the count starts again after a restart


def test_one_good_look_resets_the_count():
    memory, policy, said = Memory(), Policy(threshold=3), []
    for now, look in enumerate([healthy(ready=False)] * 2 + [healthy()] + [healthy(ready=False)] * 2):
        restart, lines = decide([look], memory, policy, now=now)
        assert restart == []
        said += lines
    assert memory.failures == {"vllm": 2}
    assert said[2] == "vllm: healthy again"


def test_the_watchdog_gives_up_after_max_restarts_in_the_window_and_says_so():
    memory, policy = Memory(), Policy(threshold=1, max_restarts=2, window=100)
    sick = [Look("web", running=True, health="unhealthy")]
    assert [decide(sick, memory, policy, now=t)[0] for t in (0, 10, 20)] == [["web"], ["web"], []]
    assert "not restarting it, it was restarted 2 times" in decide(sick, memory, policy, now=30)[1][0]
    assert decide(sick, memory, policy, now=105)[0] == ["web"]  # the first restart left the window


def test_dockers_time_stamps_are_read_to_the_second():
    now = calendar.timegm((2026, 12, 2, 4, 40, 0, 0, 0, 0))
    assert watchdog.seconds_since("2026-12-02T04:39:30.517739521Z", now) == pytest.approx(29.48, abs=0.01)
    assert watchdog.seconds_since("0001-01-01T00:00:00Z", now) > 10**10
    assert watchdog.seconds_since("", now) is None


def test_its_memory_survives_a_bad_state_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    assert Memory.load(path) == Memory()
    memory = Memory(failures={"vllm": 2}, restarts={"vllm": [1.0]})
    memory.save(path)
    assert Memory.load(path) == memory


DOCKER = """#!/usr/bin/env python3
import json, os, sys
log = os.environ["FAKE_DOCKER_LOG"]
with open(log, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
states = json.loads(os.environ["FAKE_DOCKER_STATES"])
if sys.argv[1] == "inspect":
    name = sys.argv[-1]
    if name not in states:
        sys.exit(1)
    print(json.dumps({"Running": True, "Health": {"Status": states[name]}}))
elif sys.argv[1] == "exec":
    sys.exit(0 if os.environ["FAKE_DOCKER_READY"] == "1" else 1)
"""


def test_three_runs_against_a_wedged_engine_restart_it_and_log_why(tmp_path):
    """The script as systemd runs it, `docker` being a stand-in that records its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(DOCKER)
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_DOCKER_LOG": str(log),
        "FAKE_DOCKER_STATES": json.dumps({"p-vllm-1": "healthy", "p-web-1": "healthy", "p-proxy-1": "healthy"}),
        "FAKE_DOCKER_READY": "0",
    }
    argv = [sys.executable, str(SCRIPT), "--project", "p", "--state", str(tmp_path / "state.json")]
    runs = [subprocess.run(argv, env=env, capture_output=True, text=True, check=False) for _ in range(3)]
    assert [r.returncode for r in runs] == [0, 0, 0], runs[-1].stderr
    assert "vllm: failing (1/3)" in runs[0].stdout
    assert "vllm: restarting it after 3 failing looks in a row" in runs[2].stdout
    assert "vllm: restarted p-vllm-1" in runs[2].stdout
    calls = log.read_text().splitlines()
    assert [c for c in calls if c.startswith("restart")] == ["restart --time 10 p-vllm-1"]
    ready = subprocess.run(argv, env={**env, "FAKE_DOCKER_READY": "1"}, capture_output=True, text=True, check=False)
    assert ready.returncode == 0 and "restart" not in ready.stdout


def test_a_restart_resets_the_age_of_the_health_status(monkeypatch):
    """Docker keeps a container's health log across a restart: the start counts until the first new check."""
    now = calendar.timegm((2026, 12, 2, 4, 52, 0, 0, 0, 0))
    state = {
        "Running": True,
        "StartedAt": "2026-12-02T04:51:34.1Z",
        "Health": {"Status": "starting", "Log": [{"End": "2026-12-02T04:43:01.7Z"}]},
    }
    done = subprocess.CompletedProcess([], 0, stdout=json.dumps(state), stderr="")
    monkeypatch.setattr(watchdog, "run", lambda argv, timeout: done)
    running, health, age = watchdog.inspect("hymt-web-1", now)
    assert (running, health) == (True, "starting") and age == pytest.approx(25.9, abs=0.01)
