"""Run the Testinfra suite of the host (host_suite/) through the inventory, or over SSH for --host targets, and fold
its results into the report: one check per test and host, with pytest's own message as the reason."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from hymt.verify.result import CheckResult, SkipKind, failed, passed, skipped
from hymt.verify.ssh import DEFAULT_KNOWN_HOSTS, Target

NO_GPU_PREFIX = "no GPU: "
SUITE_TIMEOUT = 900.0


def suite_dir() -> Path:
    return Path(str(resources.files("hymt.verify").joinpath("host_suite")))


def ssh_login_lines(target: Target) -> list[str]:
    """How ssh logs in to a --host target, as ssh_config lines: never a prompt, and its key checked as hymt verify's
    own SSH connection checks it (ssh.Target): against the user's known_hosts files and the target's own. Testinfra's
    ssh:// addresses take no ssh_extra_args, so these lines are the only way they reach ssh. When a new key is let in
    (accept-new, off), ssh writes it to /dev/null, the first file named: nothing of the user's is changed."""
    checking = {"strict": "yes", "accept-new": "accept-new", "off": "no"}[target.host_key_checking]
    files = [*DEFAULT_KNOWN_HOSTS, *target.known_hosts]
    if checking != "yes":
        files.insert(0, "/dev/null")
    return [
        "BatchMode yes",
        f"StrictHostKeyChecking {checking}",
        "UserKnownHostsFile " + " ".join(f'"{path}"' for path in files),
    ]


def ssh_config_text(control_dir: Path, target: Target | None = None) -> str:
    """The SSH client configuration the suite's commands run with: for a --host `target`, how to log in to it
    (ssh_login_lines); one connection per host, opened by the first command and reused by the others; then the
    user's own configuration and the system's (`ssh -F` reads no other, and the first value given wins).
    Testinfra multiplexes only when an ansible.cfg in the working directory names a control path; without one every
    command logged in again (about 0.2 s each, some tests run several)."""
    return "\n".join(
        [
            "# Written by hymt verify for its Testinfra suite (hymt.verify.testinfra).",
            *(ssh_login_lines(target) if target is not None else []),
            "ControlMaster auto",
            "ControlPersist 30s",
            f"ControlPath {control_dir}/%C",
            "Include ~/.ssh/config",
            "Include /etc/ssh/ssh_config",
            "",
        ]
    )


def testinfra_host(target: Target, inventory: Path | None, ssh_config: Path | None = None) -> str:
    """Testinfra's address of a target: the inventory's host (ansible backend, which passes on the inventory's SSH
    arguments), else plain ssh with the target's key; `ssh_config`: the SSH client configuration file to use
    (ssh_config_text, which carries a --host target's host key checking)."""
    query = [f"ssh_config={quote(str(ssh_config), safe='/')}"] if ssh_config is not None else []
    if inventory is not None:
        query.insert(0, f"ansible_inventory={quote(str(inventory.resolve()), safe='/')}")
        return f"ansible://{target.name}?{'&'.join(query)}"
    if target.key_file:
        query.insert(0, f"ssh_identity_file={quote(target.key_file, safe='/')}")
    user = f"{target.user}@" if target.user else ""
    return f"ssh://{user}{target.address}:{target.port}" + (f"?{'&'.join(query)}" if query else "")


def _label(test_name: str) -> tuple[str, str]:
    """'test_the_firewall_denies[ansible://gpu-1]' -> ('the firewall denies', 'gpu-1') (Testinfra's test ids name
    the connection type and the host name or address)."""
    base, _, param = test_name.partition("[")
    return base.removeprefix("test_").replace("_", " "), param.rstrip("]").split("://", 1)[-1]


def parse_junit(xml_text: str, names: Mapping[str, str]) -> list[CheckResult]:
    """CheckResults from pytest's junit XML; `names` maps Testinfra's host labels to the report's target names."""
    results = []
    for case in ElementTree.fromstring(xml_text).iter("testcase"):
        what, host = _label(case.get("name", ""))
        target = names.get(host, host)
        name = f"testinfra: {what}"
        seconds = float(case.get("time") or 0)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skip = case.find("skipped")
        if problem is not None:
            message = (problem.get("message") or problem.text or "failed").strip()
            results.append(failed(name, " ".join(message.split())[:500], seconds, target))
        elif skip is not None:
            message = (skip.get("message") or "").strip()
            message = message.split("Skipped: ", 1)[-1]
            kind = SkipKind.NO_GPU if message.startswith(NO_GPU_PREFIX) else SkipKind.NOT_JUDGED
            results.append(skipped(name, f"skipped: {message}", kind, seconds, target))
        else:
            results.append(passed(name, "passed", seconds, target))
    return results


def run_suite(
    targets: Sequence[Target],
    inventory: Path | None,
    settings: Mapping[str, str],
    timeout: float = SUITE_TIMEOUT,
) -> list[CheckResult]:
    """Run the suite against `targets`; `settings` are the suite's HYMT_VERIFY_* variables."""
    names = {(target.name if inventory is not None else target.address): target.name for target in targets}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hymt-verify-") as scratch:
        junit = Path(scratch) / "junit.xml"
        hosts = []
        for number, target in enumerate(targets):
            # One file per --host target: each carries its own host key checking.
            ssh_config = Path(scratch) / f"ssh_config-{number}"
            text = ssh_config_text(Path(scratch), target if inventory is None else None)
            ssh_config.write_text(text, encoding="utf-8")
            hosts.append(testinfra_host(target, inventory, ssh_config))
        command = [
            sys.executable, "-m", "pytest", str(suite_dir()),
            "-c", os.devnull, "--rootdir", str(suite_dir()), "-p", "no:cacheprovider", "-q", "--no-header",
            "-o", "junit_family=xunit2", f"--junitxml={junit}", "--sudo", "--hosts=" + ",".join(hosts),
        ]  # fmt: skip
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(settings)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            return [failed("testinfra suite", f"did not finish within {timeout:g} s", timeout, "testinfra")]
        if not junit.is_file() or done.returncode not in (0, 1):
            said = " ".join((done.stdout + done.stderr).split())[-600:]
            return [
                failed(
                    "testinfra suite",
                    f"could not run (pytest exit {done.returncode}): {said}",
                    time.monotonic() - started,
                    "testinfra",
                )
            ]
        return parse_junit(junit.read_text(encoding="utf-8"), names)
