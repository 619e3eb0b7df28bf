"""Suite-wide rules.

CI sets CI=true: there every test must run, so a skip is turned into a failure (with its reason). Off CI a test whose
prerequisite is missing (Docker, Chromium) is skipped and pytest's -ra prints why.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false (off CI); in CI that is a failure."""
    if not condition:
        pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI must run every test, but this one was skipped: {reason}"


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A Docker engine that answers (make test starts one with `make docker`)."""
    require(docker_answers(), "no Docker engine answers; run 'make docker' (as root) first")


# The packages of tests/ by how long they take on a CI machine, longest first (measured: docs/testing.md). Two
# workers given the longest first finish close together; given in pytest's order (the most tests first), the
# longest package, tests/deploy, started late and ran on alone for a third of the run.
PACKAGES_LONGEST_FIRST = (
    "scaleout",
    "deploy",
    "gpu",
    "infra",
    "verify",
    "stack",
    "ansible",
    "monitoring",
    "vllm",
    "docker",
    "browser",
    "model",
    "web",
    "unit",
    "pins",
)


def package_of(nodeid: str) -> str:
    """The package of tests/ a test belongs to ("" for tests outside one)."""
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest packages first (a stable sort: the order within a package stays pytest's)."""
    rank = {name: index for index, name in enumerate(PACKAGES_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(package_of(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`make test` runs the suite on two pytest-xdist workers: each package of tests/ goes whole to one worker, so that
    the fixtures a package shares (a rehearsal host, the stack, the browser's gateway) are set up once, while another
    package runs on the other worker; packages are handed out longest first, in the order collected. (xdist's own
    --dist loadgroup cannot group here: it renames test ids in a way this pytest no longer honours.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByPackage(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return package_of(nodeid) or nodeid.split("::", 1)[0]

    # xdist would hand out the packages with the most tests first; the collected order is the longest first.
    config.option.loadscopereorder = False
    return ByPackage(config, log)
