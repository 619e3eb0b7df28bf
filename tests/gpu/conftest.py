"""The GPU paths against stand-in repositories: one repository server and two rehearsal hosts for the package.

- The server (tools/dev/hymt_dev/apt_repo.py) serves stand-ins of Docker's, NVIDIA's, Debian's and Ubuntu's
  repositories, signed with keys made for the run, at their real paths below ``http://<server>/<real host>/``, on a
  Docker network of its own that the hosts join (tests/gpu/standin_packages.py says what is in them).
- The "debian" host is a rehearsal host (Debian 12) that the roles take for the machine "debian-12-a100" of
  tests/gpu/machines.py; the "ubuntu" host one they take for "ubuntu-2404-aws-l4": Ubuntu 24.04 with an L4 on an AWS
  kernel. Extra vars outrank the preflight role's set_fact, so faking preflight's facts sends every role down that
  machine's branch. What is faked is only what a container cannot show: the distribution (for Ubuntu), the kernel
  and the PCI bus; and, before a driver is installed, the GPUs (which a real preflight finds with lspci). Once the
  stand-in driver answers, preflight finds the GPUs through its nvidia-smi, as on a real host.
- Each host is provisioned the way a GPU server is: provision.yml installs the driver and stops, asking for a reboot
  (nvidia_driver_reboot is false by default); the test reboots the host (restarts its container: the stand-in kernel
  module "loads" at boot) and runs provision.yml again, which keeps the driver, installs the toolkit, Docker CE with
  the nvidia runtime, and the firewall. The hosts run side by side. The debian host reaches Docker's and NVIDIA's
  repositories at their own URLs; the ubuntu host is given the mirror preset cn instead of any repository variable
  (with USTC's site moved onto the server, which serves the mirrors' trees at their real paths), so its archive,
  Docker CE and the toolkit come through the mainland-China mirrors' paths as the preset writes them.

Everything is removed at the end, also when a test fails: hosts, their volumes, the server, its network and files.
"""

from __future__ import annotations

import secrets
import shlex
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from hymt_dev.apt_repo import RepositoryError, RepositoryServer
from tests.conftest import require
from tests.gpu.machines import MACHINES, Machine
from tests.gpu.standin_packages import (
    CUDA_REPOSITORIES,
    DEBIAN_12,
    DEBIAN_ARCHIVE,
    DEBIAN_MACHINE,
    DOCKER_MIRROR,
    DOCKER_SITE,
    TOOLKIT_MIRROR,
    TOOLKIT_SITE,
    UBUNTU_2404,
    UBUNTU_ARCHIVE,
    UBUNTU_MACHINE,
    UBUNTU_MIRROR,
    Distribution,
    debian_kernel_headers,
    gpu_plan,
)
from tests.support.playbook import ROOT, PlaybookRun, run_playbook

HERE = Path(__file__).resolve().parent
# The stand-in Debian archive's key, where the tests install it on a Debian host.
STANDIN_DEBIAN_KEYRING = "/etc/apt/keyrings/hymt-standin-debian.gpg"
PROVISION = ROOT / "playbooks/provision.yml"
DOCKER_ONLY = HERE / "playbooks/docker.yml"
# The project's mirror presets, and the site of the cn preset's mirrors (USTC's).
MIRROR_PRESETS = yaml.safe_load((ROOT / "inventory/group_vars/all/mirrors.yml").read_text())["hymt_mirror_presets"]
CN_SITE = "https://mirrors.ustc.edu.cn"


@dataclass
class Converge:
    run: PlaybookRun
    seconds: float


@dataclass
class GpuHost:
    """A rehearsal host on the repository server's network, with the extra vars that point its roles there."""

    tag: str  # debian, ubuntu
    settings: object  # hymt_dev.rehearsal_host.HostSettings
    machine_name: str  # of tests/gpu/machines.py
    distribution: Distribution
    # The paths below the server that stand in for Docker's site, NVIDIA's toolkit site and the distribution's
    # archive: theirs or a mirror's ("" for the archive: the host's own sources, left alone).
    docker_mirror: str
    toolkit_mirror: str
    apt_mirror: str
    extra_vars: dict
    access: object = None  # hymt_dev.rehearsal_host.HostAccess
    converges: list[Converge] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def machine(self) -> Machine:
        return MACHINES[self.machine_name]

    @property
    def first(self) -> Converge:
        """The converge that installs the driver and stops for the reboot."""
        return self.converges[0]

    @property
    def provisioned(self) -> Converge:
        """The converge after the reboot, which provisions the rest."""
        return self.converges[1]

    def sh(self, command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A shell command on the host, as root, over SSH."""
        completed = subprocess.run(
            self.access.ssh_command("sudo", "sh", "-c", shlex.quote(command)),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and completed.returncode != 0:
            raise AssertionError(f"{command!r} on {self.name} failed ({completed.returncode}): {completed.stderr}")
        return completed

    def out(self, command: str) -> str:
        return self.sh(command).stdout.strip()

    def converge(self, playbook: Path = PROVISION, extra_vars: dict | None = None, **options) -> Converge:
        started = time.monotonic()
        run = run_playbook(
            playbook, self.access.inventory, extra_vars=self.extra_vars | (extra_vars or {}), timeout=1200, **options
        )
        return Converge(run, time.monotonic() - started)

    def reboot(self) -> None:
        """Restart the host's container (systemd shuts down and boots again); ports and inventory are renewed."""
        from hymt_dev.rehearsal_host import up
        from hymt_dev.rehearsal_host.host import docker_client

        docker_client().containers.get(self.name).stop(timeout=60)
        self.access = up(self.settings)


def hardware_facts(machine: Machine) -> dict:
    """What a container cannot show of the machine, as preflight would record it there: distribution (when it is not
    the host's own Debian 12), kernel, PCI bus, Secure Boot."""
    facts = machine.facts()
    names = ["preflight_kernel_release", "preflight_nvidia_pci_gpus", "preflight_nvidia_nvswitches"]
    names += ["preflight_secure_boot"]
    if machine.distribution != "Debian":
        names += ["preflight_distribution", "preflight_release", "preflight_codename"]
    return {name: facts[name] for name in names}


def _extra_vars(server: RepositoryServer, machine: Machine) -> dict:
    """What both hosts get: the faked hardware, the GPU profile's roles, and the sites no preset moves (NVIDIA's CUDA
    repository and toolkit key, Debian's archive for contrib) at their real paths below the server."""
    return hardware_facts(machine) | {
        # Debian's contrib component, which the driver's dependencies need, from the stand-in archive and its key.
        "nvidia_driver_debian_mirror": server.url_of(DEBIAN_ARCHIVE),
        "nvidia_driver_debian_keyring": STANDIN_DEBIAN_KEYRING,
        # The GPU profile's engine and NVIDIA roles (the rehearsal profile turns them off), from the stand-ins.
        "docker_engine_source": "ce",
        "nvidia_driver_enabled": True,
        "nvidia_container_toolkit_enabled": True,
        "nvidia_driver_cuda_repository_mirror": server.url_of(CUDA_REPOSITORIES),
        # Mirrors of the toolkit need not carry NVIDIA's key; it comes from NVIDIA's site.
        "nvidia_container_toolkit_gpg_key_url": server.url_of(f"{TOOLKIT_SITE}/gpgkey"),
        # The stand-ins are signed with keys made for the run: the roles check the keys against these instead.
        "hymt_signing_key_fingerprints": {
            "docker_ce": [server.fingerprints["docker"]],
            "nvidia_container_toolkit": [server.fingerprints["nvidia-container-toolkit"]],
            "cuda": [server.fingerprints["cuda"]],
        },
    }


def _own_sites(server: RepositoryServer) -> dict:
    """The debian host: Docker's and NVIDIA's repositories at their own paths, through the roles' variables."""
    return {
        "docker_ce_mirror": server.url_of(DOCKER_SITE),
        "nvidia_container_toolkit_repository_url": server.url_of(f"{TOOLKIT_SITE}/stable/deb"),
    }


def cn_preset_on(server: RepositoryServer) -> dict:
    """The ubuntu host: the mirror preset cn and nothing else, its table (inventory/group_vars/all/mirrors.yml) with
    USTC's site moved below the server, which serves the mirrors at their real paths; every path stays the preset's."""

    def moved(value):
        if isinstance(value, dict):
            return {key: moved(item) for key, item in value.items()}
        if isinstance(value, str) and value.startswith(CN_SITE + "/"):
            return server.url_of(CN_SITE.removeprefix("https://") + value.removeprefix(CN_SITE))
        return value

    presets = moved(MIRROR_PRESETS)
    assert presets["cn"] != MIRROR_PRESETS["cn"], f"the cn preset has no URL on {CN_SITE} any more"
    return {"hymt_mirror_preset": "cn", "hymt_mirror_presets": presets}


def _distribution_archive(host: GpuHost, server: RepositoryServer) -> str:
    """A shell script for what a real host of the machine's distribution has before provisioning: its archive (for
    the packages the roles take from it), with the archive's key."""
    if host.distribution == UBUNTU_2404:
        keyring = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
        source = (
            f"Types: deb\nURIs: {server.url_of(UBUNTU_ARCHIVE)}\nSuites: {host.distribution.codename}-updates\n"
            f"Components: restricted\nSigned-By: {keyring}\n"
        )
        return (
            f"curl -fsS -o {keyring} {server.url_of('keys/ubuntu-archive-keyring.gpg')} && "
            f"printf %s {shlex.quote(source)} > /etc/apt/sources.list.d/ubuntu.sources"
        )
    # Debian's archive is the real one; the kernel headers of the machine's kernel come from its stand-in, which
    # apt prefers for them (the real archive has other kernels' headers under the flavour's name).
    keyring = STANDIN_DEBIAN_KEYRING
    source = (
        f"Types: deb\nURIs: {server.url_of(DEBIAN_ARCHIVE)}\nSuites: {host.distribution.codename}\n"
        f"Components: main\nSigned-By: {keyring}\n"
    )
    headers = " ".join(package.name for package in debian_kernel_headers(host.machine))
    preference = f'Package: {headers}\nPin: origin "{server.address}"\nPin-Priority: 1001\n'
    return (
        f"install -d -m 0755 /etc/apt/keyrings && "
        f"curl -fsS -o {keyring} {server.url_of('keys/debian-archive-standin.gpg')} && "
        f"printf %s {shlex.quote(source)} > /etc/apt/sources.list.d/hymt-standin-debian.sources && "
        f"printf %s {shlex.quote(preference)} > /etc/apt/preferences.d/hymt-standin-kernel-headers"
    )


@pytest.fixture(scope="package")
def apt_repo(docker_engine) -> RepositoryServer:
    from hymt_dev.apt_repo import build_image

    try:
        build_image()
    except RepositoryError as error:
        require(False, str(error))
    server = RepositoryServer(
        name=f"hymt-gpu-repo-{secrets.token_hex(4)}", directory=Path(tempfile.mkdtemp(prefix="hymt-gpu-repo-"))
    )
    try:
        server.start()
        started = time.monotonic()
        server.build(gpu_plan(), inputs=HERE)
        print(f"stand-in repositories built in {time.monotonic() - started:.0f} s")
        yield server
    finally:
        server.stop()


def _in_parallel(hosts: dict[str, GpuHost], action) -> dict:
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        futures = {tag: pool.submit(action, host) for tag, host in hosts.items()}
        return {tag: future.result() for tag, future in futures.items()}


@pytest.fixture(scope="package")
def gpu_hosts(apt_repo, tmp_path_factory) -> dict[str, GpuHost]:
    """The two hosts, provisioned (install the driver, reboot, provision the rest) side by side."""
    from hymt_dev.rehearsal_host import RehearsalHostError, build_image, down, up
    from tests.support.rehearsal_hosts import host_settings

    try:
        build_image()
    except RehearsalHostError as error:
        require(False, str(error))
    token = secrets.token_hex(4)
    hosts: dict[str, GpuHost] = {}
    for tag, machine, distribution, mirrors, sources in (
        ("debian", DEBIAN_MACHINE, DEBIAN_12, (DOCKER_SITE, TOOLKIT_SITE, ""), _own_sites(apt_repo)),
        ("ubuntu", UBUNTU_MACHINE, UBUNTU_2404, (DOCKER_MIRROR, TOOLKIT_MIRROR, UBUNTU_MIRROR), cn_preset_on(apt_repo)),
    ):
        directory = tmp_path_factory.mktemp(f"gpu-host-{tag}")
        settings = host_settings(f"hymt-gpu-{tag}-{token}", directory)
        extra_vars = _extra_vars(apt_repo, MACHINES[machine]) | sources
        hosts[tag] = GpuHost(tag, settings, machine, distribution, *mirrors, extra_vars)
    try:
        for host in hosts.values():
            host.access = up(host.settings)
            apt_repo.connect(host.name)
            host.sh(_distribution_archive(host, apt_repo))
        # A distribution package Docker's guide removes first, so that the proof can see it go.
        hosts["debian"].sh(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
            "docker-doc >/dev/null"
        )
        hosts["ubuntu"].sh("apt-get update -qq")

        def provision(host: GpuHost) -> None:
            # Before the driver: the GPUs as preflight finds them on the real machine's PCI bus.
            before = {"preflight_nvidia_gpus": host.machine.facts()["preflight_nvidia_gpus"]}
            host.converges.append(host.converge(extra_vars=before))
            host.reboot()
            host.converges.append(host.converge())

        _in_parallel(hosts, provision)
        for tag, host in hosts.items():
            times = " and ".join(f"{converge.seconds:.0f} s" for converge in host.converges)
            print(f"{tag} host: driver converge, reboot, provisioning converge: {times}")
        yield hosts
    finally:
        for host in hosts.values():
            down(host.settings)


@pytest.fixture(scope="package")
def provisioned_again(gpu_hosts) -> dict[str, dict[str, Converge]]:
    """provision.yml once more on both hosts (side by side), after the tests that only look: a run, and a check run
    with --diff."""
    return _in_parallel(gpu_hosts, lambda host: {"run": host.converge(), "check": host.converge(check=True, diff=True)})


@pytest.fixture(scope="package")
def debian_host(gpu_hosts) -> GpuHost:
    return gpu_hosts["debian"]


@pytest.fixture(scope="package")
def ubuntu_host(gpu_hosts) -> GpuHost:
    return gpu_hosts["ubuntu"]
