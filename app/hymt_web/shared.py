"""The three limits shared by several server processes (`hymt web --workers N`, N > 1), counted as one process counts
them (hymt_web/admission.py), and the metrics of all of them on /metrics.

The store is a SQLite file in a fresh directory the server makes at each start (in the temporary directory: a tmpfs in
the container, whose root is read-only), one connection per limit and process, each check and its count in one short
`BEGIN IMMEDIATE` transaction. SQLite rather than shared memory because:

- it is in the standard library and its lock is the file's (the kernel's fcntl locks): a worker killed in the middle
  of an update holds nothing afterwards, and WAL drops its unfinished transaction. A lock in shared memory
  (multiprocessing's) taken by a worker that is killed stays taken, and every other worker would wait on it for ever;
- the table of clients grows with them (one row each), which a fixed block of shared memory cannot without a hash
  table of our own.

A transaction takes 10 to 30 microseconds (a request's three, `python -m hymt_dev.limits_bench`: 35 to 90 µs on the
busy development machine, 2 µs in-process), against the 2.5 to 3 ms of CPU a translation takes, and holds the event
loop only as long (no await in between, as in the in-process Admission).

Places are rows per client and process (pid and the process's start time, so that a reused pid is not taken for the
old process). A worker that dies keeps its rows until a cap would refuse someone: then the rows of processes that no
longer run are deleted and the request counted again, so a dead worker's places come back at the first request that
needs them. The allowances do not belong to a process and need nothing of the kind.

time.monotonic() is the same clock in every process of a host (Linux's CLOCK_MONOTONIC), so the allowances' stamps
from different workers compare.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from hymt_web.admission import SWEEP_AT, Admission
from hymt_web.errors import GatewayError
from hymt_web.metrics import Metrics
from hymt_web.settings import Settings

_STORE = "limits.sqlite"
_METRICS = "metrics"
# How long a worker waits for another's transaction before it gives up (sqlite3.OperationalError, a 500): far longer
# than any transaction here takes.
_BUSY_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS allowances (
    scope TEXT NOT NULL, client TEXT NOT NULL, allowance REAL NOT NULL, stamp REAL NOT NULL,
    per_second REAL NOT NULL, burst INTEGER NOT NULL, PRIMARY KEY (scope, client)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS places (
    scope TEXT NOT NULL, client TEXT NOT NULL, pid INTEGER NOT NULL, started INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (scope, client, pid)
) WITHOUT ROWID;
"""


def prepare(directory: Path) -> None:
    """Make the store and the metrics' directory in `directory` (fresh, before any worker starts)."""
    (directory / _METRICS).mkdir()
    with contextlib.closing(sqlite3.connect(directory / _STORE)) as db:
        # WAL: a worker killed mid-transaction leaves nothing half-written, and readers never wait for the writer.
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)


def metrics_dir(directory: Path) -> Path:
    """Where prometheus_client's multiprocess mode keeps each worker's values (PROMETHEUS_MULTIPROC_DIR)."""
    return directory / _METRICS


def started_of(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, /proc/PID/stat), or None when it no longer runs (gone, or
    a zombie its parent has not reaped yet)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


class SharedAdmission(Admission):
    """Admission's limits with the counts in the store in `directory`, under `scope` (detection has allowances of its
    own). `in_flight` in the metrics is this process's share: prometheus' livesum adds the workers' shares up."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        directory: Path,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
        pid: int | None = None,
    ) -> None:
        super().__init__(settings, metrics, clock)
        self.path = directory / _STORE
        self.scope = scope
        self.pid = os.getpid() if pid is None else pid
        self.started = started_of(self.pid) or 0
        self._db: sqlite3.Connection | None = None
        self._new_clients = 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the store's write lock; kept when it ends in a 429 (what it counted stands)."""
        if self._db is None:
            # Opened at first use, in the thread that serves the requests (a connection stays in its thread).
            self._db = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
            self._db.execute("PRAGMA synchronous=OFF")  # a tmpfs: nothing to make durable
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except GatewayError:
            db.execute("COMMIT")
            raise
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def check_rate(self, key: str) -> None:
        now = self.clock()
        with self._transaction() as db:
            row = db.execute(
                "SELECT allowance, stamp, per_second, burst FROM allowances WHERE scope = ? AND client = ?",
                (self.scope, key),
            ).fetchone()
            if row is None:
                per_second, burst = self.limits_of(key)
                allowance: float = burst
                self._new_clients += 1
                if self._new_clients >= SWEEP_AT:
                    self._sweep_allowances(db, now)
            else:
                allowance, stamp, per_second, burst = row
                allowance = min(burst, allowance + (now - stamp) * per_second)
            refused = allowance < 1
            if not refused:
                allowance -= 1
            db.execute(
                "INSERT INTO allowances VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, client) DO UPDATE SET "
                "allowance = excluded.allowance, stamp = excluded.stamp",
                (self.scope, key, allowance, now, per_second, burst),
            )
            if refused:
                raise self._rate_refused(allowance, per_second, burst)

    def _sweep_allowances(self, db: sqlite3.Connection, now: float) -> None:
        """Forget clients whose allowance is full again: a new row would start as full."""
        db.execute(
            "DELETE FROM allowances WHERE scope = ? AND allowance + (? - stamp) * per_second >= burst",
            (self.scope, now),
        )
        self._new_clients = 0

    def _places(self, db: sqlite3.Connection, key: str) -> tuple[int, int]:
        """The translations under way of `key`, and of everyone, in all processes."""
        mine, everyone = db.execute(
            "SELECT COALESCE(SUM(CASE WHEN client = ? THEN count END), 0), COALESCE(SUM(count), 0) FROM places "
            "WHERE scope = ?",
            (key, self.scope),
        ).fetchone()
        return mine, everyone

    def _forget_dead(self, db: sqlite3.Connection) -> bool:
        """Delete the places of processes that no longer run; whether there were any."""
        dead = [
            (pid, started)
            for pid, started in db.execute("SELECT DISTINCT pid, started FROM places WHERE scope = ?", (self.scope,))
            if started_of(pid) != started
        ]
        forget = "DELETE FROM places WHERE scope = ? AND pid = ? AND started = ?"
        db.executemany(forget, [(self.scope, pid, started) for pid, started in dead])
        return bool(dead)

    def enter(self, key: str) -> None:
        with self._transaction() as db:
            active, count = self._places(db, key)
            if (active >= self.client_limit or count >= self.limit) and self._forget_dead(db):
                active, count = self._places(db, key)
            self._check_places(active, count)
            db.execute(
                "INSERT INTO places VALUES (?, ?, ?, ?, 1) ON CONFLICT (scope, client, pid) DO UPDATE SET "
                "count = count + 1",
                (self.scope, key, self.pid, self.started),
            )
        self.count += 1
        self.metrics.in_flight.set(self.count)

    def leave(self, key: str) -> None:
        with self._transaction() as db:
            where = "WHERE scope = ? AND client = ? AND pid = ?"
            db.execute(f"UPDATE places SET count = count - 1 {where}", (self.scope, key, self.pid))
            db.execute(f"DELETE FROM places {where} AND count <= 0", (self.scope, key, self.pid))
        self.count -= 1
        self.metrics.in_flight.set(self.count)


def collected(directory: Path) -> CollectorRegistry:
    """A registry of every worker's metrics (prometheus_client's multiprocess mode), after the live gauges of workers
    that died are dropped (their translations in flight ended with them)."""
    values = metrics_dir(directory)
    for file in values.glob("gauge_live*_*.db"):
        pid = file.stem.rsplit("_", 1)[1]
        if pid.isdigit() and started_of(int(pid)) is None:
            mark_process_dead(int(pid), str(values))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(values))
    return registry
