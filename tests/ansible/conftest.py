"""Running the roles on the control machine (connection: local) with faked preflight facts.

The preflight role records what it found with set_fact; extra vars outrank set_fact, so
`-e preflight_memory_mb=2048` makes the role believe the host has 2 GB of RAM while everything else about it is
real. To fake different facts for different cases in one run, each case is a host of the inventory (named after the
case, all with connection: local) with its facts in a host variable, and the extra vars are templates that read it:
`-e '{"preflight_memory_mb": "{{ test_facts.preflight_memory_mb }}"}'`. A case that needs an inventory of its own
(say, one without gpu_hosts) runs alone. The runs start, two at a time, the first time a test asks for a result.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.playbook import PlaybookRun, run_playbook, write_inventory

HERE = Path(__file__).resolve().parent

# A host every check accepts, whatever machine the tests run on: the platform facts are faked, RAM is plenty, and
# the disk check is left out (the cases that test it run alone, with this machine's real disks).
GOOD_HOST_FACTS = {
    "preflight_distribution": "Debian",
    "preflight_os_family": "Debian",
    "preflight_release": "12",
    "preflight_codename": "bookworm",
    "preflight_architecture": "x86_64",
    "preflight_service_manager": "systemd",
    "preflight_memory_mb": 65536,
    "preflight_nvidia_gpus": [],
    "preflight_nvidia_driver_version": "",
    "preflight_nvidia_cuda_version": "",
    "preflight_is_wsl": False,
    "preflight_disks": [],
}
# What the other roles read from preflight, for running one of them alone.
PREFLIGHT_DONE = GOOD_HOST_FACTS | {
    "preflight_facts_gathered": True,
    "preflight_is_container": False,
    "preflight_docker_snap": False,
    "preflight_docker_engine_major": 0,
}
A10 = {"slot": "00000000:01:00.0", "name": "NVIDIA A10", "memory_mb": 23028, "source": "nvidia-smi"}
T4 = {"slot": "00000000:00:04.0", "name": "Tesla T4", "memory_mb": 15360, "source": "nvidia-smi"}
UNDRIVEN_L4 = {
    "slot": "0000:00:03.0",
    "name": "AD104GL [L4]",
    "device_id": "27b8",
    "memory_mb": None,
    "source": "lspci",
}

# The groups of the rehearsal host (the rehearsal profile) and of a single GPU server (the gpu profile).
REHEARSAL_GROUPS = ("rehearsal", "gpu_hosts", "edge")
GPU_SERVER_GROUPS = ("gpu_hosts", "edge")


@dataclass
class Case:
    """One host of a run: its groups, inventory variables and faked facts; the playbook and its mode."""

    groups: tuple[str, ...] = REHEARSAL_GROUPS
    host_vars: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    playbook: str = "preflight.yml"
    check: bool = False
    # Run in an inventory of its own, with this machine's real disks (no faked preflight_disks).
    alone: bool = False
    real_disks: bool = False

    @property
    def base_facts(self) -> dict:
        base = PREFLIGHT_DONE if self.playbook == "role.yml" else GOOD_HOST_FACTS
        if self.real_disks:
            base = {key: value for key, value in base.items() if key != "preflight_disks"}
        return base | self.facts


def run_cases(cases: dict[str, Case], directory: Path) -> PlaybookRun:
    """One ansible-playbook run with each case as a host."""
    first = next(iter(cases.values()))
    faked = set().union(*(case.base_facts for case in cases.values()))
    hosts, children = {}, {}
    for name, case in cases.items():
        missing = faked - set(case.base_facts)
        assert not missing, f"{name} does not fake {missing}, which others in its run fake"
        hosts[name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            # A little free space is enough for the disk check (the rehearsal model needs 1 GB).
            "preflight_docker_min_free_gb": 1,
            "test_facts": case.base_facts,
            **case.host_vars,
        }
        for group in case.groups:
            children.setdefault(group, {"hosts": {}})["hosts"][name] = {}
    inventory = write_inventory(directory, {"all": {"hosts": hosts, "children": children}})
    extra_vars = {key: f"{{{{ test_facts['{key}'] }}}}" for key in sorted(faked)}
    return run_playbook(
        HERE / "playbooks" / first.playbook,
        inventory,
        extra_vars=extra_vars,
        check=first.check,
        forks=min(len(cases), 8),
        # A guard against a hung run, not a measure of speed: CI machines ran this three times slower than a quiet
        # development machine while the other worker provisioned hosts.
        timeout=1200,
    )


class CaseRunner:
    """Runs every registered case once, grouped into as few ansible-playbook runs as possible, two at a time."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.cases: dict[str, Case] = {}
        self.results: dict[str, PlaybookRun] = {}

    def register(self, cases: dict[str, Case]) -> None:
        for name, case in cases.items():
            assert name not in self.cases, f"two cases are called {name}"
            self.cases[name] = case

    def _groups(self) -> dict[str, dict[str, Case]]:
        groups: dict[str, dict[str, Case]] = {}
        for name, case in self.cases.items():
            key = name if case.alone else f"{case.playbook}-{'check' if case.check else 'run'}"
            groups.setdefault(key, {})[name] = case
        return groups

    def result(self, name: str) -> PlaybookRun:
        if not self.results:
            groups = self._groups()
            # Two runs at a time: on a 2-core machine more only make each slower, and all of them reach their timeout.
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = {key: pool.submit(run_cases, cases, self.directory / key) for key, cases in groups.items()}
                for key, future in futures.items():
                    run = future.result()
                    self.results.update({case: run for case in groups[key]})
        return self.results[name]


@pytest.fixture(scope="session")
def local_runs(tmp_path_factory) -> CaseRunner:
    from tests.ansible import test_mirrors, test_preflight, test_preflight_reuse, test_role_decisions

    runner = CaseRunner(tmp_path_factory.mktemp("local-runs"))
    runner.register(test_preflight.CASES)
    runner.register(test_preflight_reuse.CASES)
    runner.register(test_role_decisions.CASES)
    runner.register(test_mirrors.CASES)
    return runner
