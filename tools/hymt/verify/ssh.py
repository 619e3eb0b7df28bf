"""The hosts to check and how to log in to them: from an Ansible inventory (all `gpu_hosts` and `edge` hosts, with the
same address, port, user, key and SSH options Ansible uses) or from `--host user@address[:port]`; commands then run over
SSH with Fabric.

Host keys are checked as Ansible checks them with this project's ansible.cfg (host_key_checking = True): a host whose
key is unknown or changed is refused, never trusted on the spot. The known_hosts files are the user's
(~/.ssh/known_hosts) plus any UserKnownHostsFile the inventory's SSH arguments name (the rehearsal host's inventory
names its own). Fabric's own default would accept any key; that is switched off here.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hymt.verify.commands import CommandResult, HostUnreachable, command_line

# The inventory groups whose hosts are checked (ARCHITECTURE.md: gpu_hosts run vLLM and the web app, edge the proxy).
GROUPS = ("gpu_hosts", "edge")
DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


class InventoryError(Exception):
    """The inventory cannot be read, or names no host to check; the message says what to do."""


@dataclass(frozen=True)
class Target:
    """One host: where to log in, how to check its key, which groups it is in and its inventory variables."""

    name: str
    address: str
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    password: str | None = field(default=None, repr=False)
    identities_only: bool = False
    known_hosts: tuple[str, ...] = ()  # extra known_hosts files (UserKnownHostsFile), checked with the user's own
    host_key_checking: str = "strict"  # strict | accept-new | off (as StrictHostKeyChecking yes | accept-new | no)
    groups: tuple[str, ...] = GROUPS
    variables: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def login(self) -> str:
        user = f"{self.user}@" if self.user else ""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{user}{address}:{self.port}"


_HOST_SPEC = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[^:@\s\[\]]+))(?::(?P<port>\d+))?$"
)


def parse_host(spec: str, *, key_file: str | None = None, known_hosts: str | None = None) -> Target:
    """`user@address[:port]` (IPv6 in brackets: `user@[2001:db8::7]:22`)."""
    match = _HOST_SPEC.match(spec.strip())
    if not match:
        raise InventoryError(f"--host {spec!r}: write it as user@address or user@address:port (ubuntu@203.0.113.7)")
    port = int(match["port"] or 22)
    if not 0 < port < 65536:
        raise InventoryError(f"--host {spec!r}: {port} is not a TCP port")
    return Target(
        name=match["v6"] or match["host"],
        address=match["v6"] or match["host"],
        port=port,
        user=match["user"],
        key_file=key_file,
        known_hosts=(known_hosts,) if known_hosts else (),
    )


def ssh_options(args: str) -> dict[str, str]:
    """The -o options (and -i, -p, -l) of an SSH argument string, keys lower-cased: '-o UserKnownHostsFile=x' ->
    {'userknownhostsfile': 'x'}."""
    options: dict[str, str] = {}
    words = shlex.split(args or "")
    flags = {"-i": "identityfile", "-p": "port", "-l": "user"}
    i = 0
    while i < len(words):
        word = words[i]
        value = None
        if word in ("-o", *flags) and i + 1 < len(words):
            value, i = words[i + 1], i + 1
        elif word.startswith("-o") and len(word) > 2:
            value = word[2:]
        if value is not None:
            if word in flags:
                options[flags[word]] = value
            else:
                key, _, setting = value.replace("=", " ", 1).partition(" ")
                options[key.strip().lower()] = setting.strip()
        i += 1
    return options


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def ansible_host_key_checking(env: Mapping[str, str] | None = None) -> bool:
    """Ansible's host_key_checking setting: ANSIBLE_HOST_KEY_CHECKING, else the ansible.cfg Ansible would read
    (ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg), else Ansible's default (True)."""
    env = os.environ if env is None else env
    if "ANSIBLE_HOST_KEY_CHECKING" in env:
        return _truthy(env["ANSIBLE_HOST_KEY_CHECKING"])
    for candidate in (env.get("ANSIBLE_CONFIG"), "ansible.cfg", "~/.ansible.cfg", "/etc/ansible/ansible.cfg"):
        if not candidate:
            continue
        path = Path(candidate).expanduser()
        if path.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read(path)
            except configparser.Error:
                return True
            return _truthy(parser.get("defaults", "host_key_checking", fallback="true"))
    return True


def ansible_ssh_args(env: Mapping[str, str] | None = None) -> str:
    """ansible.cfg's [ssh_connection] ssh_args (where SSH options for every host may be set)."""
    env = os.environ if env is None else env
    for candidate in (env.get("ANSIBLE_CONFIG"), "ansible.cfg", "~/.ansible.cfg", "/etc/ansible/ansible.cfg"):
        if candidate and Path(candidate).expanduser().is_file():
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read(Path(candidate).expanduser())
            except configparser.Error:
                return ""
            return env.get("ANSIBLE_SSH_ARGS", parser.get("ssh_connection", "ssh_args", fallback=""))
    return env.get("ANSIBLE_SSH_ARGS", "")


def target_from_hostvars(name: str, hostvars: Mapping[str, object], groups: Sequence[str], inventory: Path) -> Target:
    """How Ansible would reach `name`, from its merged inventory variables."""

    def var(*keys: str) -> str | None:
        for key in keys:
            value = hostvars.get(key)
            if value not in (None, ""):
                return str(value)
        return None

    args = " ".join(filter(None, (ansible_ssh_args(), var("ansible_ssh_common_args"), var("ansible_ssh_extra_args"))))
    options = ssh_options(args)
    checking = "strict" if ansible_host_key_checking() else "off"
    if var("ansible_host_key_checking", "ansible_ssh_host_key_checking") is not None:
        checking = "strict" if _truthy(var("ansible_host_key_checking", "ansible_ssh_host_key_checking")) else "off"
    strict_option = options.get("stricthostkeychecking", "").lower()
    if strict_option in ("no", "off"):
        checking = "off"
    elif strict_option == "accept-new":
        checking = "accept-new"
    elif strict_option in ("yes", "ask"):
        checking = "strict"
    known = tuple(
        str(Path(path).expanduser() if Path(path).expanduser().is_absolute() else inventory.parent / path)
        for path in options.get("userknownhostsfile", "").split()
    )
    key = var("ansible_ssh_private_key_file", "ansible_private_key_file") or options.get("identityfile")
    port = var("ansible_port", "ansible_ssh_port") or options.get("port") or "22"
    try:
        port_number = int(port)
    except ValueError:
        raise InventoryError(f"{inventory}: {name}'s ansible_port {port!r} is not a number") from None
    return Target(
        name=name,
        address=var("ansible_host", "ansible_ssh_host") or name,
        port=port_number,
        user=var("ansible_user", "ansible_ssh_user", "remote_user") or options.get("user"),
        key_file=str(Path(key).expanduser()) if key else None,
        password=var("ansible_password", "ansible_ssh_pass"),
        identities_only=options.get("identitiesonly", "").lower() == "yes",
        known_hosts=known,
        host_key_checking=checking,
        groups=tuple(groups),
        variables=dict(hostvars),
    )


def read_inventory(path: Path, env: Mapping[str, str] | None = None) -> dict:
    """`ansible-inventory --list` of the file: every host with its merged variables (group_vars included)."""
    if not path.is_file():
        raise InventoryError(
            f"no inventory at {path}. Copy inventory/cloud.example.yml to inventory/cloud.yml and edit it, or give "
            "the hosts with --host user@address."
        )
    program = shutil.which("ansible-inventory", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if not program:
        raise InventoryError(
            "ansible-inventory is missing: install the control machine's tools (pip install 'hymt[ops]', or "
            "'make setup' in a checkout), or give the hosts with --host user@address."
        )
    try:
        done = subprocess.run(
            [program, "-i", str(path), "--list"], capture_output=True, text=True, timeout=120, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise InventoryError(f"ansible-inventory took over 120 s to read {path}") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[-600:]
        hint = " (an encrypted file needs ANSIBLE_VAULT_PASSWORD_FILE)" if "vault" in said.lower() else ""
        raise InventoryError(f"ansible-inventory could not read {path}{hint}: {said}")
    try:
        listing = json.loads(done.stdout)
    except ValueError:
        raise InventoryError(f"ansible-inventory printed something other than JSON for {path}") from None
    # A file Ansible cannot parse is only a warning to it (and an empty inventory): keep what it said.
    listing["_warnings"] = " ".join(done.stderr.split())[-600:]
    return listing


def targets_from_inventory(path: Path, listing: dict | None = None, groups: Sequence[str] = GROUPS) -> list[Target]:
    """Every host of `groups` in the inventory, each once, with the groups it is in (inventory order)."""
    listing = read_inventory(path) if listing is None else listing
    hostvars = listing.get("_meta", {}).get("hostvars", {})

    def members(group: str, seen: set[str]) -> list[str]:
        if group in seen:
            return []
        seen.add(group)
        entry = listing.get(group, {})
        found = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            found += members(child, seen)
        return found

    in_groups: dict[str, list[str]] = {}
    for group in groups:
        for host in members(group, set()):
            in_groups.setdefault(host, [])
            if group not in in_groups[host]:
                in_groups[host].append(group)
    if not in_groups:
        said = f" ansible-inventory said: {listing['_warnings']}" if listing.get("_warnings") else ""
        raise InventoryError(
            f"{path} has no host in {' or '.join(groups)}: put your server in both groups (see "
            f"inventory/cloud.example.yml).{said}"
        )
    return [target_from_hostvars(host, hostvars.get(host, {}), found, path) for host, found in in_groups.items()]


class SshRunner:
    """Commands on a target over SSH (Fabric), with host keys checked. Connects on first use."""

    def __init__(self, target: Target, connect_timeout: float = 15.0):
        self.target = target
        self.description = f"{target.name} ({target.login})"
        self.connect_timeout = connect_timeout
        self._connection = None

    def _connect(self):
        from fabric import Connection
        from paramiko import AutoAddPolicy, RejectPolicy

        target = self.target
        connect_kwargs: dict[str, object] = {"banner_timeout": self.connect_timeout}
        if target.key_file:
            connect_kwargs["key_filename"] = [target.key_file]
        if target.identities_only:
            connect_kwargs |= {"look_for_keys": False, "allow_agent": False}
        if target.password:
            connect_kwargs["password"] = target.password
        connection = Connection(
            host=target.address,
            user=target.user,
            port=target.port,
            connect_timeout=int(self.connect_timeout),
            connect_kwargs=connect_kwargs,
        )
        client = connection.client
        # Fabric accepts unknown keys by default; refuse them as ssh and Ansible do (a changed key always fails).
        client.set_missing_host_key_policy(RejectPolicy() if target.host_key_checking == "strict" else AutoAddPolicy())
        for path in (*DEFAULT_KNOWN_HOSTS, GLOBAL_KNOWN_HOSTS, *target.known_hosts):
            file = Path(path).expanduser()
            if file.is_file():
                client.load_system_host_keys(str(file))
        try:
            connection.open()
        except Exception as exc:
            raise HostUnreachable(self._explain(exc)) from None
        return connection

    def _explain(self, exc: Exception) -> str:
        import socket

        from paramiko import AuthenticationException, BadHostKeyException, SSHException
        from paramiko.ssh_exception import NoValidConnectionsError

        target = self.target
        files = ", ".join([*DEFAULT_KNOWN_HOSTS[:1], *target.known_hosts])
        if isinstance(exc, BadHostKeyException):
            return (
                f"the host key of {target.login} is not the one in {files}: if the server was reinstalled, remove its "
                f"old key (ssh-keygen -R {target.address}) and accept the new one after comparing its fingerprint with "
                "the provider's console; otherwise someone may be in the middle. Refused."
            )
        if isinstance(exc, AuthenticationException):
            return (
                f"{target.login} refused the login of {target.user or 'this user'}"
                + (f" with the key {target.key_file}" if target.key_file else "")
                + ": check ansible_user and ansible_ssh_private_key_file (or --host user@... and --ssh-key)."
            )
        if isinstance(exc, SSHException) and "not found in known_hosts" in str(exc):
            return (
                f"{target.login} is not in {files}: log in once by hand (ssh -p {target.port} "
                f"{target.user + '@' if target.user else ''}{target.address}), compare the fingerprint with the one "
                "your provider's console shows, accept it, then verify again. Unknown host keys are never trusted."
            )
        if isinstance(exc, NoValidConnectionsError | socket.timeout | TimeoutError | ConnectionError | OSError):
            return (
                f"cannot reach {target.login} over SSH ({exc}): is the server up, the address and port right, and "
                "SSH open in the provider's security group?"
            )
        return f"SSH to {target.login} failed: {type(exc).__name__}: {exc}"

    def open(self) -> None:
        if self._connection is None:
            self._connection = self._connect()

    def run(self, argv: Sequence[str], *, sudo: bool = False, timeout: float = 120.0) -> CommandResult:
        from invoke.exceptions import CommandTimedOut

        self.open()
        line = command_line(argv, sudo)
        try:
            result = self._connection.run(line, hide=True, warn=True, timeout=timeout, in_stream=False)
        except CommandTimedOut:
            return CommandResult(line, 124, "", f"timed out after {timeout:g} s")
        return CommandResult(line, result.exited, result.stdout, result.stderr)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
