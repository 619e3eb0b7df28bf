"""`hymt web --workers 2`: two real server processes on one port share the three limits and sum their metrics.

Each request goes on a new connection, so that either worker may take it. Which worker served what is read from
where the workers keep it, not from the answers: the per-process files of prometheus' multiprocess mode (one per pid)
and the store's places (rows by pid), in the server's directory under the TMPDIR the test gives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

from hymt_web import Settings
from hymt_web.admission import Admission
from hymt_web.errors import GatewayError
from hymt_web.metrics import Metrics
from hymt_web.shared import SharedAdmission, prepare
from tests.support.fake_openai import FakeOpenAI
from tests.support.gateway import interrupted, refused_start
from tests.support.net import free_port, wait_until

BODY = {"text": "Hallo", "target": "en", "source": "de"}
# Enough requests on new connections for both workers to take some: each takes about half of them.
ATTEMPTS = 200


@dataclass
class Workers:
    url: str
    directory: Path  # the server's shared directory: limits.sqlite and metrics/
    process: subprocess.Popen

    def post(self, client: str | None = None) -> httpx.Response:
        """A translation on a new connection; `client`: the address the proxy (127.0.0.1, trusted) says it is for."""
        headers = {"X-Forwarded-For": client} if client else {}
        return httpx.post(f"{self.url}/api/translate", json=BODY, headers=headers, timeout=30)

    def counts(self, name: str, **labels: str) -> dict[int, float]:
        """A counter's value in each worker's own file, by pid, where it is above 0: who did what."""
        found: dict[int, float] = {}
        for path in (self.directory / "metrics").glob("counter_*.db"):
            pid = int(path.stem.split("_")[1])
            for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
                _, sample, found_labels, _ = json.loads(key)
                if sample == f"{name}_total" and labels.items() <= found_labels.items() and value > 0:
                    found[pid] = found.get(pid, 0) + value
        return found

    def places(self) -> list[tuple[str, int, int]]:
        """The store's translations under way: (client, worker pid, count)."""
        with contextlib.closing(sqlite3.connect(self.directory / "limits.sqlite")) as db:
            return db.execute("SELECT client, pid, count FROM places WHERE scope = 'translate'").fetchall()

    def metric(self, line_start: str) -> float:
        """The value of the /metrics line that starts with `line_start` (the sum over the workers)."""
        page = httpx.get(f"{self.url}/metrics", timeout=10).text
        return float(next(line for line in page.splitlines() if line.startswith(line_start)).rsplit(" ", 1)[1])


def gone(pid: int) -> bool:
    """Whether process `pid` has ended: no longer in /proc, or a zombie its parent has not reaped yet (a signal is
    delivered before the process has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@contextlib.contextmanager
def workers(fake: FakeOpenAI, tmp_path: Path, **settings: str) -> Iterator[Workers]:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "HYMT_UPSTREAM_URL": fake.url, "HYMT_LOG_LEVEL": "warning"}
    env.update(settings)
    argv = [sys.executable, "-m", "hymt.cli.main", "web", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, "hymt web answers",
                   timeout=60, not_yet=(httpx.TransportError,))  # fmt: skip
        (directory,) = tmp_path.glob("hymt-web-*")
        yield Workers(url, directory, process)
    finally:
        output = interrupted(process)
    assert process.returncode == 0, output
    assert not list(tmp_path.glob("hymt-web-*")), "the shared directory outlived the server"


def test_a_burst_is_counted_once_across_the_workers_and_metrics_sum(fake, tmp_path):
    # One request a minute after the burst: none comes back while the test runs (seconds).
    with workers(fake, tmp_path, HYMT_CLIENT_BURST="5", HYMT_CLIENT_RATE="1") as web:
        answers = []
        while len(answers) < ATTEMPTS and (len(answers) < 20 or len(web.counts("hymt_web_requests", status="429")) < 2):
            answers.append(web.post())
        refused = answers[5:]
        served = web.counts("hymt_web_requests", route="/api/translate")
        assert len(served) == 2, f"one worker took all {len(answers)} requests: {served}"
        assert [a.status_code for a in answers[:5]] == [200] * 5
        assert {a.status_code for a in refused} == {429}
        assert len(web.counts("hymt_web_requests", status="429")) == 2, "both workers refused some"
        message = refused[-1].json()["error"]["message"]
        assert message.startswith("You sent more than 5 translations in a short time (the limit is 1 a minute")
        assert 0 < int(refused[-1].headers["Retry-After"]) <= 60
        # /metrics, from either worker, counts what both did.
        assert web.metric('hymt_web_requests_total{method="POST",route="/api/translate",status="200"}') == 5
        assert web.metric('hymt_web_requests_total{method="POST",route="/api/translate",status="429"}') == len(refused)
        assert web.metric('hymt_web_refused_total{reason="client_rate"}') == len(refused)


@pytest.mark.parametrize(
    ("limit", "reason", "message"),
    [
        ("HYMT_CLIENT_MAX_IN_FLIGHT", "client_in_flight", "You have 1 translations under way, the limit per client."),
        ("HYMT_MAX_IN_FLIGHT", "in_flight", "The service is translating 1 texts at once, its limit."),
    ],
)
def test_places_are_shared_and_a_killed_workers_come_back(fake, tmp_path, limit, reason, message):
    fake.behaviour.stall_stream_after = 0  # the upstream answers, then never sends a token: the stream stays
    # The service's cap is for everyone: then each request comes for another client (the trusted proxy says so).
    client = (lambda n: f"192.0.2.{n % 250 + 1}") if reason == "in_flight" else (lambda n: None)
    with workers(fake, tmp_path, **{limit: "1"}) as web:
        held = socket.create_connection(("127.0.0.1", int(web.url.rsplit(":", 1)[1])))
        body = json.dumps(BODY).encode()
        held.sendall(
            b"POST /api/translate/stream HTTP/1.1\r\nHost: web\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        wait_until(lambda: len(web.places()) == 1, "the stream holds a place")
        [(_, holder, _)] = web.places()
        assert web.metric("hymt_web_translations_in_flight ") == 1
        # The other worker, holding nothing itself, refuses too.
        answers = []
        while len(answers) < ATTEMPTS and not set(web.counts("hymt_web_refused", reason=reason)) - {holder}:
            answers.append(web.post(client(len(answers))))
        assert set(web.counts("hymt_web_refused", reason=reason)) - {holder}, "no other worker took a request"
        assert {a.status_code for a in answers} == {429}
        assert all(a.json()["error"]["message"].startswith(message) for a in answers)
        assert {a.headers["Retry-After"] for a in answers} == {"2"}

        # The worker that holds the place dies with it: the next request that needs the place gets it.
        os.kill(holder, signal.SIGKILL)
        held.close()
        wait_until(lambda: gone(holder), "the killed worker is gone")
        fake.behaviour.stall_stream_after = None
        answer = web.post(client(len(answers)))
        assert answer.status_code == 200, answer.text
        assert web.places() == []
        assert web.metric("hymt_web_translations_in_flight ") == 0


@pytest.mark.parametrize("value", ["0", "65", "two", "-1"])
def test_a_bad_number_of_workers_is_refused_in_words(value):
    said = refused_start({"HYMT_WEB_WORKERS": value})
    assert f"HYMT_WEB_WORKERS={value if value != 'two' else repr(value)}" in said
    assert "whole number" in said


def test_a_monthly_character_limit_is_refused_with_several_workers(tmp_path):
    # Its counts are in each process's memory: two workers would let a key translate twice the limit.
    keys = tmp_path / "keys"
    keys.write_text("0" * 64 + " team\n")
    environ = {"HYMT_WEB_WORKERS": "2", "HYMT_COMPAT_CHARACTER_LIMIT": "1000", "HYMT_COMPAT_APIS": "deepl"}
    said = refused_start({**environ, "HYMT_ACCESS_KEYS_FILE": str(keys)})
    assert "HYMT_COMPAT_CHARACTER_LIMIT=1000 with HYMT_WEB_WORKERS=2" in said


def test_the_store_counts_as_one_process_does(tmp_path):
    # The same calls, at the same (made-up) times, to one in-process Admission and to two workers' SharedAdmissions on
    # one store: the same answers, refusals word for word with their Retry-After, and the same refusals counted. The
    # workers are this process and its parent (both alive, so neither's places are forgotten); a place is given back
    # by the worker that took it, as a request's is.
    prepare(tmp_path)
    now = [0.0]
    settings = Settings(client_burst=3, client_rate=6, client_max_in_flight=2, max_in_flight=3)
    one = Admission(settings, Metrics(), clock=lambda: now[0])
    workers = [
        SharedAdmission(settings, Metrics(), tmp_path, "translate", clock=lambda: now[0], pid=pid)
        for pid in (os.getpid(), os.getppid())
    ]
    # (worker, call, client); ("wait", seconds) moves the clock.
    calls = [
        (0, "rate", "a"),
        (1, "rate", "a"),
        (0, "rate", "a"),
        (1, "rate", "a"),
        ("wait", 10.0, ""),
        (1, "rate", "a"),
    ]
    calls += [(0, "rate", "a"), ("wait", 25.0, ""), (0, "rate", "a"), (1, "rate", "a"), (0, "rate", "a")]
    calls += [(0, "enter", "a"), (1, "enter", "a"), (0, "enter", "a"), (1, "enter", "b"), (0, "enter", "c")]
    calls += [(1, "leave", "a"), (1, "enter", "c"), (1, "leave", "b"), (1, "enter", "c"), (0, "enter", "a")]

    def run(admissions: list[Admission]) -> tuple[list[object], list[float]]:
        now[0] = 0.0
        answers: list[object] = []
        for worker, call, argument in calls:
            if worker == "wait":
                now[0] += call  # type: ignore[operator]
                continue
            admission = admissions[worker % len(admissions)]  # type: ignore[operator]
            try:
                {"rate": admission.check_rate, "enter": admission.enter, "leave": admission.leave}[call](argument)
                answers.append("ok")
            except GatewayError as refused:
                answers.append((refused.message, refused.headers))
        counted = [
            sum(a.metrics.registry.get_sample_value("hymt_web_refused_total", {"reason": r}) for a in admissions)
            for r in ("client_rate", "client_in_flight", "in_flight")
        ]
        return answers, counted

    expected = run([one])
    assert run(workers) == expected
    assert all(expected[1]), "every limit refused something"
