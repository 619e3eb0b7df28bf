"""Run ansible-playbook the way a user does (the repository's ansible.cfg, the venv's tools) and read its results.

The JSON stdout callback gives each task's result per host, so tests check failure messages, skip reasons and which
tasks changed, instead of scraping the human-readable output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.repo import ROOT

VENV_BIN = Path(sys.executable).parent


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment ansible-playbook, ansible-inventory and Testinfra need: the venv's bin first on PATH."""
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    env.update(extra)
    return env


@dataclass
class TaskResult:
    task: str
    host: str
    result: dict

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def skipped(self) -> bool:
        return bool(self.result.get("skipped"))

    @property
    def message(self) -> str:
        """The task's message; for a loop, its items' messages."""
        items = [
            str(item["msg"]) for item in self.result.get("results", []) if isinstance(item, dict) and item.get("msg")
        ]
        return " | ".join(items) if items else str(self.result.get("msg", ""))


@dataclass
class PlaybookRun:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    stats: dict = field(default_factory=dict)
    results: list[TaskResult] = field(default_factory=list)

    def _of(self, host: str | None) -> list[TaskResult]:
        return [r for r in self.results if host is None or r.host == host]

    def changed_tasks(self, host: str | None = None) -> list[str]:
        return [r.task for r in self._of(host) if r.changed]

    def failures(self, host: str | None = None) -> list[TaskResult]:
        return [r for r in self._of(host) if r.failed]

    def failure_messages(self, host: str | None = None) -> list[str]:
        return [r.message for r in self.failures(host)]

    def messages(self, host: str | None = None) -> list[str]:
        """Every message a task printed (debug, assert, fail), in order."""
        return [r.message for r in self._of(host) if r.message]

    def refusal(self, host: str) -> str:
        """The one message with which the run stopped for `host` (an assertion fails when it ran to the end or
        stopped more than once)."""
        assert not self.succeeded(host), f"{host}: the run passed\n{self.explain(host)}"
        failures = self.failure_messages(host)
        assert len(failures) == 1, self.explain(host)
        return failures[0]

    def succeeded(self, host: str) -> bool:
        """The host ran to the end: it is in the recap, without failures and reachable."""
        stats = self.stats.get(host)
        return stats is not None and stats.get("failures", 1) == 0 and stats.get("unreachable", 1) == 0

    def changed_count(self, host: str) -> int:
        return int(self.stats.get(host, {}).get("changed", -1))

    def explain(self, host: str | None = None) -> str:
        """What happened, for assertion messages."""
        lines = [f"$ {' '.join(self.command)}", f"exit code {self.returncode}"]
        failures = self.failures(host)
        lines += [f"FAILED {r.host} | {r.task}: {r.message or json.dumps(r.result)[:2000]}" for r in failures]
        lines += [f"changed {r.host} | {r.task}" for r in self._of(host) if r.changed]
        lines += [f"said {r.host} | {r.task}: {r.message}" for r in self._of(host) if r.message and not r.failed]
        if not self.results:
            lines += [self.stdout[-3000:], self.stderr[-3000:]]
        return "\n".join(lines)


def run_playbook(
    playbook: str | Path,
    inventory: str | Path,
    *,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    limit: str | None = None,
    forks: int | None = None,
    strategy: str | None = None,
    timeout: float = 900,
) -> PlaybookRun:
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if extra_vars:
        command += ["--extra-vars", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if limit:
        command += ["--limit", limit]
    if forks:
        command += ["--forks", str(forks)]
    # Facts stay in memory: test runs leave the repository's fact cache (.hymt/facts) alone.
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_CACHE_PLUGIN="memory")
    if strategy:
        env["ANSIBLE_STRATEGY"] = strategy
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    run = PlaybookRun(command, completed.returncode, completed.stdout, completed.stderr)
    try:
        # The JSON report comes first; aggregate callbacks (ansible.cfg's timer) may print after it.
        report, _ = json.JSONDecoder().raw_decode(completed.stdout.lstrip())
    except json.JSONDecodeError:
        return run
    run.stats = report.get("stats", {})
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            name = task["task"]["name"]
            for host, result in task.get("hosts", {}).items():
                run.results.append(TaskResult(name, host, result))
    return run


def write_inventory(directory: Path, inventory: dict) -> Path:
    """An inventory file in `directory` that sees the repository's group_vars, as inventory/*.yml files do."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    group_vars = directory / "group_vars"
    if not group_vars.exists():
        group_vars.symlink_to(ROOT / "inventory/group_vars", target_is_directory=True)
    path = directory / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def local_inventory(directory: Path, hosts: dict[str, dict], groups: dict[str, list[str]]) -> Path:
    """An inventory of hosts that Ansible runs on this machine (local connection, this Python), each with its own
    variables, in the groups given: for rendering roles' files per host without any host."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    children = {group: {"hosts": {name: {} for name in names}} for group, names in groups.items()}
    return write_inventory(
        directory,
        {"all": {"hosts": {name: {**local, **variables} for name, variables in hosts.items()}, "children": children}},
    )


def render_per_host(
    playbook: Path, directory: Path, hosts: dict[str, dict], groups: dict[str, list[str]], extra_vars: dict
) -> tuple[PlaybookRun, Path]:
    """Run `playbook` on local hosts (local_inventory) that write their files into <directory>/out, which extra_vars
    name with the placeholder {out}."""
    inventory = local_inventory(directory, hosts, groups)
    out = directory / "out"
    out.mkdir()
    named = {
        key: value.replace("{out}", str(out)) if isinstance(value, str) else value for key, value in extra_vars.items()
    }
    # A guard against a hung run, not a measure of speed.
    return run_playbook(playbook, inventory, extra_vars=named, forks=5, timeout=900), out
