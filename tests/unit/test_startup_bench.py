"""hymt_dev.startup_bench's own logic, with the stack and the clock replaced by stand-ins: what it times, in which
order it drives compose, and that a start which never becomes ready or a compose failure is reported, not timed."""

from __future__ import annotations

import subprocess

import pytest

from hymt_dev import startup_bench as bench


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeStack:
    """Records the stack commands; the stack turns ready `delay` seconds (of the fake clock) after each start."""

    def __init__(self, clock: FakeClock, delays: dict[str, float], fail: str | None = None) -> None:
        self.clock, self.delays, self.fail = clock, dict(delays), fail
        self.calls: list[list[str]] = []
        self.ready_at = float("inf")

    def run(self, args):
        self.calls.append(list(args))
        joined = " ".join(args)
        if self.fail and joined == self.fail:
            return subprocess.CompletedProcess(args, 1, "", "no such image")
        starts = {"compose up -d": "up", "compose restart": "restart"}
        if joined in starts:
            self.ready_at = self.clock() + self.delays[starts[joined]]
        if joined == "compose exec -T vllm find /var/cache/vllm -type f":
            return subprocess.CompletedProcess(args, 0, "/var/cache/vllm/a.json\n/var/cache/vllm/b.json\n", "")
        return subprocess.CompletedProcess(args, 0, "", "")

    def ready(self) -> bool:
        return self.clock() >= self.ready_at


def test_it_times_cold_recreate_and_restart_in_order_and_counts_the_cache():
    clock = FakeClock()
    stack = FakeStack(clock, {"up": 30.0, "restart": 12.0})
    said = []
    figures = bench.measure(bench.Settings(poll=0.5), stack.run, stack.ready, said.append, clock, clock.sleep)
    assert figures.seconds == {"cold": [30.0], "recreate": [30.0], "restart": [12.0]}
    assert figures.cache_files == 2
    # cold: everything removed (volumes too) before up; recreate: down without volumes; restart: the same containers.
    order = [" ".join(call) for call in stack.calls]
    assert order == [
        "prepare",
        "down",
        "compose up -d",
        "compose exec -T vllm find /var/cache/vllm -type f",
        "compose down",
        "compose up -d",
        "compose restart",
    ]
    assert len(said) == 3 and "cold" in said[0] and "30.0 s" in said[0]
    assert bench.summary(figures)["median"] == {"cold": 30.0, "recreate": 30.0, "restart": 12.0}


def test_a_start_that_never_becomes_ready_is_an_error_not_a_figure():
    clock = FakeClock()
    stack = FakeStack(clock, {"up": 1e9, "restart": 1.0})
    with pytest.raises(bench.NotReady, match="within 60 s"):
        bench.measure(bench.Settings(timeout=60), stack.run, stack.ready, lambda _: None, clock, clock.sleep)


def test_a_failing_compose_command_is_reported_with_what_it_said():
    clock = FakeClock()
    stack = FakeStack(clock, {"up": 1.0, "restart": 1.0}, fail="compose up -d")
    with pytest.raises(bench.NotReady, match="no such image"):
        bench.measure(bench.Settings(), stack.run, stack.ready, lambda _: None, clock, clock.sleep)


def test_bad_options_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--rounds", "0"])
    assert exit_.value.code == 2
    assert "--rounds must be at least 1" in capsys.readouterr().err
