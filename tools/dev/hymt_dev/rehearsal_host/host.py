"""The rehearsal host: a Debian 12 container that behaves like a fresh cloud VM, reached over real SSH.

It runs systemd as PID 1, sshd and python3, has its own Docker storage volume (the roles install Docker in it), and
publishes SSH, HTTP and HTTPS on 127.0.0.1 only. Like a cloud provider, `up` hands the host a login key for the
"debian" user (which has passwordless sudo) and reads the host key the host generated at first boot through Docker,
a trusted channel, into a known_hosts file: Ansible and Testinfra then connect with host key checking on.

The container gets exactly the flags a systemd container needs here and nothing more: its own cgroup namespace,
tmpfs on /sys/fs/cgroup, /run and /run/lock, CAP_SYS_ADMIN (systemd mounts), CAP_NET_ADMIN (the inner Docker's
and ufw's iptables rules), CAP_SYS_PTRACE (the inner runc joins a container's namespaces through /proc/<pid>/ns, which
needs it when the container runs as another user: without it `docker exec`, and so every health check, fails in
containers of non-root images such as the web app's and vLLM's), no seccomp filter (systemd and the inner engine make
calls Docker's default profile refuses), route_localnet on for the bridges the inner engine creates (it cannot write
/proc/sys; it needs the setting with daemon.json's userland-proxy false). --privileged is not used (this machine's
kernel refuses it), and the machine's own /sys/fs/cgroup is never bind-mounted (systemd would rearrange the machine's
cgroup mounts).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hymt_dev import REPO_ROOT

ROOT = REPO_ROOT
GROUP_VARS = ROOT / "inventory/group_vars"
PINS_FILE = GROUP_VARS / "all/versions.yml"
DOCKERFILE = "tools/rehearsal_host/Dockerfile"
LOGIN_USER = "debian"
LOGIN_UID = 1000
HOST_KEY_PUB = "/etc/ssh/ssh_host_ed25519_key.pub"
LABEL = "org.hymt.rehearsal-host"
INPUTS_LABEL = "org.hymt.build-inputs"
LOOPBACK = "127.0.0.1"


class RehearsalHostError(RuntimeError):
    """A problem the user can fix; the message says how."""


def pins() -> dict:
    return yaml.safe_load(PINS_FILE.read_text())


def default_image() -> str:
    return pins()["hymt_rehearsal_host_image"]


@dataclass
class HostSettings:
    """What to create: names, published ports (None lets Docker pick a free one) and where to write the access files."""

    name: str = "hymt-rehearsal-host"
    ssh_port: int | None = 2222
    http_port: int | None = 8080
    https_port: int | None = 8443
    image: str = field(default_factory=default_image)
    state_dir: Path = ROOT / ".hymt/rehearsal-host"
    # Next to it, a group_vars link to the repository's inventory/group_vars (which holds the rehearsal profile).
    inventory: Path = ROOT / ".hymt/rehearsal-host/inventory.yml"
    # Whether ports 80 and 443 are published (a fleet's GPU hosts are reached over SSH only, like private servers).
    publish_web: bool = True
    # The Docker network the host starts on (None: the engine's default bridge) and, for a fleet, the internal
    # network it joins at a fixed address before its first boot, as a cloud VM gets its private interface.
    network: str | None = None
    private_network: str | None = None
    private_address: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # What the "port taken" message suggests.
    port_hint: str = (
        "'make rehearsal-host-up REHEARSAL_SSH_PORT=2223 REHEARSAL_HTTP_PORT=8081 REHEARSAL_HTTPS_PORT=8444'"
    )

    @property
    def volume(self) -> str:
        return f"{self.name}-docker"

    @property
    def key_file(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / f"known_hosts-{self.name}"


@dataclass
class HostAccess:
    """How to reach a running host: what the inventory says."""

    name: str
    ssh_port: int
    http_port: int | None
    https_port: int | None
    key_file: Path
    known_hosts: Path
    inventory: Path

    def ssh_command(self, *command: str) -> list[str]:
        return [
            "ssh",
            *self.ssh_options(),
            "-p",
            str(self.ssh_port),
            f"{LOGIN_USER}@{LOOPBACK}",
            *command,
        ]

    def ssh_options(self) -> list[str]:
        return [
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-i",
            str(self.key_file),
        ]


def docker_client():
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except DockerException as error:
        raise RehearsalHostError(
            f"cannot reach a Docker engine ({error}). Start one with 'make docker' (as root), or check DOCKER_HOST."
        ) from None
    return client


def build_inputs_digest(base: str) -> str:
    """A digest of what the image is built from: the base image's tag, the Dockerfile and the files it copies
    (its own and the staged extra CA bundle)."""
    digest = hashlib.sha256(base.encode())
    for directory in (ROOT / Path(DOCKERFILE).parent, ROOT / "build/ca"):
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_image(image: str | None = None, force: bool = False, client=None) -> str:
    """Build the rehearsal host's image from the pinned Debian image; skipped when an image built from the same
    inputs exists (unless forced)."""
    from docker.errors import BuildError, ImageNotFound

    client = client or docker_client()
    image = image or default_image()
    base = pins()["hymt_debian_image"]
    inputs = build_inputs_digest(base)
    if not force:
        try:
            if client.images.get(image).labels.get(INPUTS_LABEL) == inputs:
                return image
        except ImageNotFound:
            pass
    try:
        client.images.get(base)
    except ImageNotFound:
        raise RehearsalHostError(
            f"the base image {base} is missing and cannot be pulled here; build the stand-ins with 'make standins'."
        ) from None
    # The Dockerfile copies build/ca/ (the extra CA bundle `make stage-ca` stages); it may be empty, not missing.
    (ROOT / "build/ca").mkdir(parents=True, exist_ok=True)
    try:
        client.images.build(
            path=str(ROOT),
            dockerfile=DOCKERFILE,
            tag=image,
            buildargs={"BASE_IMAGE": base, "HYMT_VERSION": pins()["hymt_version"]},
            labels={INPUTS_LABEL: inputs},
            rm=True,
            forcerm=True,
        )
    except BuildError as error:
        log = "".join(chunk.get("stream", "") for chunk in error.build_log if isinstance(chunk, dict))
        raise RehearsalHostError(f"building {image} failed: {error.msg}\n{log[-3000:]}") from None
    return image


def ensure_login_key(key_file: Path) -> str:
    """The control machine's key for the host's login user (created once, kept across hosts); returns the public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public_file = key_file.with_name(key_file.name + ".pub")
    if key_file.exists() and public_file.exists():
        return public_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.parent.chmod(0o700)
    private_key = Ed25519PrivateKey.generate()
    private = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private)
    public_line = public.decode() + " hymt-rehearsal-host"
    public_file.write_text(public_line + "\n")
    return public_line


def _authorized_keys_archive(public_key: str) -> bytes:
    """A tar of /home/debian/.ssh/authorized_keys, owned by the login user, for Docker's archive API."""
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        directory = tarfile.TarInfo(f"home/{LOGIN_USER}/.ssh")
        directory.mtime = now
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o700
        directory.uid = directory.gid = LOGIN_UID
        archive.addfile(directory)
        content = (public_key + "\n").encode()
        keys = tarfile.TarInfo(f"home/{LOGIN_USER}/.ssh/authorized_keys")
        keys.size = len(content)
        keys.mtime = now
        keys.mode = 0o600
        keys.uid = keys.gid = LOGIN_UID
        archive.addfile(keys, io.BytesIO(content))
    return buffer.getvalue()


def _read_file(container, path: str) -> str | None:
    from docker.errors import NotFound

    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.next()
        extracted = archive.extractfile(member) if member else None
        return extracted.read().decode() if extracted else None


def _published_port(container, port: str) -> int:
    bindings = container.attrs["NetworkSettings"]["Ports"].get(port) or []
    for binding in bindings:
        if binding.get("HostIp") == LOOPBACK:
            return int(binding["HostPort"])
    raise RehearsalHostError(f"{container.name} publishes no {port} on {LOOPBACK}; recreate it (down, then up).")


def _create(client, settings: HostSettings, public_key: str):
    from docker.errors import APIError, ImageNotFound, NotFound

    labels = {LABEL: "true", "org.hymt.rehearsal-host.inventory": str(settings.inventory), **settings.labels}
    try:
        volume = client.volumes.get(settings.volume)
    except NotFound:
        volume = client.volumes.create(name=settings.volume, labels=labels)
    ports = {"22/tcp": (LOOPBACK, settings.ssh_port)}
    if settings.publish_web:
        ports |= {"80/tcp": (LOOPBACK, settings.http_port), "443/tcp": (LOOPBACK, settings.https_port)}
    try:
        container = client.containers.create(
            settings.image,
            name=settings.name,
            hostname=settings.name,
            detach=True,
            labels=labels,
            cgroupns="private",
            tmpfs={"/sys/fs/cgroup": "", "/run": "", "/run/lock": ""},
            cap_add=["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"],
            security_opt=["seccomp=unconfined"],
            # /proc/sys is read-only in the container, so the inner engine cannot switch on route_localnet for its
            # bridges, which it needs without the userland proxy (the docker role's daemon.json): bridges made in
            # the container inherit it from here, and the engine then has nothing to write (a cloud VM needs none).
            sysctls={"net.ipv4.conf.default.route_localnet": "1"},
            volumes={settings.volume: {"bind": "/var/lib/docker", "mode": "rw"}},
            ports=ports,
            network=settings.network,
        )
    except ImageNotFound:
        volume.remove(force=True)
        raise RehearsalHostError(
            f"the image {settings.image} is missing; build it with 'make rehearsal-host-image'."
        ) from None
    try:
        if settings.private_network:
            client.networks.get(settings.private_network).connect(container, ipv4_address=settings.private_address)
        # Like cloud-init's authorized keys: the login key goes in before the first boot.
        container.put_archive("/", _authorized_keys_archive(public_key))
        container.start()
    except APIError as error:
        container.remove(force=True)
        volume.remove(force=True)
        if "port is already allocated" in str(error) or "address already in use" in str(error):
            asked = ", ".join(f"{what} {port or 'any'}" for what, port in _asked_ports(settings))
            raise RehearsalHostError(
                f"a port {settings.name} asks for on {LOOPBACK} is taken ({asked}). Choose free ones, e.g. "
                f"{settings.port_hint}."
            ) from None
        raise RehearsalHostError(f"{settings.name} did not start: {error.explanation or error}") from None
    return container


def _asked_ports(settings: HostSettings) -> list[tuple[str, int | None]]:
    asked = [("SSH", settings.ssh_port)]
    if settings.publish_web:
        asked += [("HTTP", settings.http_port), ("HTTPS", settings.https_port)]
    return asked


def _wait_for_host_key(container, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=30).decode(errors="replace")
            raise RehearsalHostError(f"{container.name} stopped while booting (status {container.status}):\n{logs}")
        key = _read_file(container, HOST_KEY_PUB)
        if key and key.startswith("ssh-ed25519 "):
            return key.strip()
        time.sleep(0.5)
    raise RehearsalHostError(f"{container.name} generated no SSH host key within {timeout:.0f} s.")


def wait_for_ssh(access: HostAccess, timeout: float) -> None:
    if not shutil.which("ssh"):
        raise RehearsalHostError("the ssh client is missing; install openssh-client (Ansible needs it too).")
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, access.ssh_port), timeout=2):
                pass
            result = subprocess.run(
                access.ssh_command("true"),
                capture_output=True,
                text=True,
                timeout=15,
                check=False,
            )
            if result.returncode == 0:
                return
            last = result.stderr.strip()
        except (OSError, subprocess.TimeoutExpired) as error:
            last = str(error)
        time.sleep(0.5)
    raise RehearsalHostError(f"cannot log in to {access.name} over SSH within {timeout:.0f} s: {last}")


def write_known_hosts(access: HostAccess, host_key: str) -> None:
    access.known_hosts.parent.mkdir(parents=True, exist_ok=True)
    access.known_hosts.write_text(f"[{LOOPBACK}]:{access.ssh_port} {host_key}\n")


def connection_vars(access: HostAccess) -> dict:
    """The inventory's variables for reaching the host over SSH with its known_hosts file and the login key."""
    return {
        "ansible_host": LOOPBACK,
        "ansible_port": access.ssh_port,
        "ansible_user": LOGIN_USER,
        "ansible_ssh_private_key_file": str(access.key_file),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={access.known_hosts} -o IdentitiesOnly=yes",
    }


def write_inventory(path: Path, header: str, inventory: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "---\n" + yaml.safe_dump(inventory, sort_keys=False, width=110))
    link_group_vars(path.parent)


def write_access_files(access: HostAccess, host_key: str) -> None:
    """known_hosts with the host's key, and an inventory that uses it and the login key."""
    write_known_hosts(access, host_key)
    host_vars = {
        **connection_vars(access),
        # Where the control machine reaches the host's ports 80 and 443, and so the service.
        "rehearsal_host_http_port": access.http_port,
        "rehearsal_host_https_port": access.https_port,
        "hymt_public_url": f"http://{LOOPBACK}:{access.http_port}",
    }
    inventory = {
        "all": {
            "children": {
                "rehearsal": {"hosts": {access.name: host_vars}},
                "gpu_hosts": {"hosts": {access.name: {}}},
                "edge": {"hosts": {access.name: {}}},
            }
        }
    }
    header = (
        "# The rehearsal host, written by `make rehearsal-host-up` (python -m hymt_dev.rehearsal_host up);\n"
        "# rewritten on every `up`, removed by `make rehearsal-host-down`. group_vars here links to\n"
        "# inventory/group_vars, whose rehearsal.yml holds the rehearsal profile; like a single server the host is\n"
        "# also in gpu_hosts and edge.\n"
        "# Host key checking stays on: the known_hosts file holds the host's key.\n"
    )
    write_inventory(access.inventory, header, inventory)


def link_group_vars(directory: Path) -> None:
    """Ansible reads group_vars next to an inventory file: link the repository's there (unless that is it)."""
    group_vars = directory / "group_vars"
    target = GROUP_VARS
    if group_vars.resolve() == target.resolve():
        return
    if group_vars.is_symlink():
        group_vars.unlink()
    elif group_vars.exists():
        raise RehearsalHostError(f"{group_vars} exists and is not a link to {target}; move it away.")
    group_vars.symlink_to(os.path.relpath(target, directory), target_is_directory=True)


def boot(client, settings: HostSettings, public_key: str, timeout: float) -> tuple[HostAccess, str]:
    """Create (or start) the host and wait for its first-boot host key; returns how to reach it and that key."""
    from docker.errors import NotFound

    try:
        container = client.containers.get(settings.name)
        if container.status != "running":
            container.start()
    except NotFound:
        container = _create(client, settings, public_key)
    host_key = _wait_for_host_key(container, timeout)
    container.reload()
    access = HostAccess(
        name=settings.name,
        ssh_port=_published_port(container, "22/tcp"),
        http_port=_published_port(container, "80/tcp") if settings.publish_web else None,
        https_port=_published_port(container, "443/tcp") if settings.publish_web else None,
        key_file=settings.key_file,
        known_hosts=settings.known_hosts,
        inventory=settings.inventory,
    )
    return access, host_key


def up(settings: HostSettings, client=None, timeout: float = 120) -> HostAccess:
    """Create (or start) the host, wait until SSH logins work, and write known_hosts and the inventory."""
    client = client or docker_client()
    access, host_key = boot(client, settings, ensure_login_key(settings.key_file), timeout)
    write_access_files(access, host_key)
    wait_for_ssh(access, timeout)
    return access


def remove_host(client, settings: HostSettings) -> list[str]:
    """Remove the host's container, its Docker volume and its known_hosts file; returns what was removed."""
    from docker.errors import NotFound

    removed = []
    try:
        client.containers.get(settings.name).remove(force=True, v=True)
        removed.append(f"container {settings.name}")
    except NotFound:
        pass
    try:
        client.volumes.get(settings.volume).remove(force=True)
        removed.append(f"volume {settings.volume}")
    except NotFound:
        pass
    return removed + remove_files(settings.known_hosts)


def remove_files(*paths: Path) -> list[str]:
    removed = []
    for path in paths:
        if path.exists():
            path.unlink()
            removed.append(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    return removed


def remove_inventory(inventory: Path) -> list[str]:
    """The inventory and the group_vars link next to it."""
    removed = remove_files(inventory)
    group_vars = inventory.parent / "group_vars"
    if group_vars.is_symlink():
        group_vars.unlink()
    return removed


def down(settings: HostSettings, client=None) -> list[str]:
    """Remove the host, its Docker volume, its known_hosts file and its inventory; returns what was removed."""
    return remove_host(client or docker_client(), settings) + remove_inventory(settings.inventory)
