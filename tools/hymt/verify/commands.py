"""Running commands on a host: one small interface, with an SSH implementation (ssh.py), a local one (here) and the
tests' fakes. Checks never build shell strings by hand: a command is an argument list, quoted once here."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def output(self, limit: int = 400) -> str:
        """stdout and stderr, trimmed for a report line."""
        text = "\n".join(part.strip() for part in (self.stdout, self.stderr) if part.strip())
        text = " ".join(text.split())
        return text if len(text) <= limit else "..." + text[-limit:]


class Runner(Protocol):
    """Runs a command on one host. `sudo` runs it as root without a password prompt (sudo -n)."""

    description: str

    def run(self, argv: Sequence[str], *, sudo: bool = False, timeout: float = 120.0) -> CommandResult: ...


class HostUnreachable(Exception):
    """The host cannot be reached or logged in to; the message says why and what to do."""


def command_line(argv: Sequence[str], sudo: bool) -> str:
    line = shlex.join(argv)
    return f"sudo -n {line}" if sudo else line


class LocalRunner:
    """This machine (for verifying a stack on the machine itself, and for tests against the local Docker engine)."""

    description = "this machine"

    def run(self, argv: Sequence[str], *, sudo: bool = False, timeout: float = 120.0) -> CommandResult:
        command = list(argv)
        if sudo and os.geteuid() != 0:
            command = ["sudo", "-n", *command]
        line = shlex.join(command)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError:
            return CommandResult(line, 127, "", f"{command[0]}: command not found")
        except subprocess.TimeoutExpired:
            return CommandResult(line, 124, "", f"timed out after {timeout:g} s")
        return CommandResult(line, done.returncode, done.stdout, done.stderr)
