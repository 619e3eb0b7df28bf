"""Run checks concurrently and collect one result per check (several for the translation checks)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from hymt.verify.http_checks import CheckFunction, Probe, http_checks
from hymt.verify.result import CheckFailed, CheckResult, CheckSkipped, Status


class CouldNotRun(Exception):
    """The deployment could not be checked at all (nothing answers at the URL); the message says what to do."""


def run_one(name: str, check: CheckFunction, probe: Probe) -> list[CheckResult]:
    started = time.monotonic()
    try:
        outcome = check(probe)
    except CheckFailed as exc:
        return [CheckResult(name, Status.FAIL, str(exc), time.monotonic() - started)]
    except CheckSkipped as exc:
        return [CheckResult(name, Status.SKIP, str(exc), time.monotonic() - started)]
    except requests.Timeout:
        return [CheckResult(name, Status.FAIL, f"no answer within {probe.timeout:g} s", time.monotonic() - started)]
    except requests.RequestException as exc:
        return [CheckResult(name, Status.FAIL, f"request failed: {exc}", time.monotonic() - started)]
    except Exception as exc:  # a surprise in the answer (bad JSON ...) is a failed check, not a crash
        detail = f"unexpected answer: {type(exc).__name__}: {exc}"
        return [CheckResult(name, Status.FAIL, detail, time.monotonic() - started)]
    if isinstance(outcome, list):
        return outcome
    return [CheckResult(name, Status.PASS, outcome, time.monotonic() - started)]


def run_checks(probe: Probe, checks: Sequence[tuple[str, CheckFunction]]) -> list[CheckResult]:
    with ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="verify") as pool:
        futures = [pool.submit(run_one, name, check, probe) for name, check in checks]
        return [result for future in futures for result in future.result()]


def connect(base_url: str, session: requests.Session, timeout: float) -> Probe:
    """A probe of the deployment at `base_url`, with its profile read from /api/info; CouldNotRun when unreachable."""
    probe = Probe(base_url=base_url, session=session, timeout=timeout)
    try:
        probe.get("/healthz")
    except requests.RequestException as exc:
        raise CouldNotRun(
            f"nothing answers at {base_url} ({type(exc).__name__}); is the stack up? Check 'docker compose ps' "
            "on the host and the URL and port you gave."
        ) from None
    try:
        info = probe.get("/api/info").json()
        if isinstance(info, dict):
            probe.info = info
            probe.profile = str(info.get("profile") or "gpu")
    except (requests.RequestException, ValueError):
        pass  # the checks will report what is wrong; judge strictly, as for a GPU deployment
    return probe


def wait_until_ready(probe: Probe, seconds: float, poll: float = 2.0) -> bool:
    """Poll /readyz until it answers 200 or `seconds` pass; True when ready."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if probe.get("/readyz").status_code == 200:
                return True
        except requests.RequestException:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def verify_http(
    base_url: str, *, timeout: float = 60.0, wait: float = 0.0, session: requests.Session | None = None
) -> tuple[Probe, list[CheckResult]]:
    session = session or requests.Session()
    probe = connect(base_url, session, timeout)
    if wait > 0:
        wait_until_ready(probe, wait)
    return probe, run_checks(probe, http_checks())
