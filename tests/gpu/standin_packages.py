"""The stand-in packages of the GPU-path tests, and the repositories they are published in.

Names, versions (with the distribution suffixes Docker uses), dependencies, conflicts and maintainer-script behaviour
follow the real packages, written from their documented conventions and never from the roles' own code (so a role
that asks for a wrong name fails); the payloads are stand-ins, and every package says so in its description:

- Docker CE's five packages carry Debian's own programs (docker.io 20.10, containerd 1.6, runc, tini, and trixie's
  Compose v2) at the paths Docker CE installs them to, so a host that "installed Docker CE" runs a real engine.
  ``dockerd --version`` therefore says 20.10 (the docker role then skips ``dockerd --validate``, which needs 23+).
  The buildx plugin only answers for its version; the compose plugin answers ``version`` as Compose of the pinned
  release does and hands every other command to Debian's Compose v2 program.
- The NVIDIA driver packages carry tests/gpu/standin_bin/nvidia-smi and a configuration naming the driver's version
  and the machine's GPU; the "kernel module" package enables a unit that marks the module loaded at the next boot,
  so nvidia-smi fails after installing until the host restarts, as with a real driver. The toolkit packages carry
  tests/gpu/standin_bin/nvidia-ctk (reporting its package's version) and an nvidia-container-runtime that runs runc.
- For each pinned package a newer release is published too (a later patch version, package without files; for the
  driver, the next branch): a role that dropped a pin would install it, and the version checks fail.

Versions come from inventory/group_vars/all/versions.yml (the one place for pins).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hymt_dev.apt_repo import Package, Payload, Plan, Repository
from tests.gpu.machines import MACHINES, Machine
from tests.support.repo import PINS

STANDIN_NOTE = (
    "This is a stand-in built by hymt-deploy's tests for a repository they serve themselves; it is not {real}.\n"
    "It carries {payload}."
)


@dataclass(frozen=True)
class Distribution:
    """Where a stand-in host claims to be (Ubuntu is faked on a Debian rehearsal host)."""

    name: str  # Debian, Ubuntu (Ansible's distribution fact)
    release: str  # 12, 24.04
    codename: str  # bookworm, noble

    @property
    def docker_path(self) -> str:
        return self.name.lower()

    @property
    def docker_suffix(self) -> str:
        """Docker's distribution part of a package version: -1~debian.12~bookworm."""
        return f"-1~{self.name.lower()}.{self.release}~{self.codename}"


DEBIAN_12 = Distribution("Debian", "12", "bookworm")
UBUNTU_2404 = Distribution("Ubuntu", "24.04", "noble")


def newer(version: str) -> str:
    """The next patch release of a version, for the releases a pin must not pick."""
    parts = version.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)])


def docker_ce_versions(distribution: Distribution, pins: dict = PINS) -> dict[str, str]:
    """The full apt versions of Docker CE's five packages as pinned, the way Docker's repository spells them."""
    suffix = distribution.docker_suffix
    engine = f"5:{pins['hymt_docker_ce_version']}{suffix}"
    return {
        "docker-ce": engine,
        "docker-ce-cli": engine,
        "containerd.io": f"{pins['hymt_containerd_io_version']}{suffix}",
        "docker-buildx-plugin": f"{pins['hymt_docker_buildx_version']}{suffix}",
        "docker-compose-plugin": f"{pins['hymt_docker_compose_plugin_version']}{suffix}",
    }


# ---- Docker CE ---------------------------------------------------------------------------------------------------

_SYSTEMD_ENABLE_START = """\
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    for unit in {units}; do
        deb-systemd-helper unmask "$unit" >/dev/null || true
        deb-systemd-helper enable "$unit" >/dev/null || true
    done
    deb-systemd-invoke restart {units} >/dev/null || true
fi
"""

_SYSTEMD_STOP = """\
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop {units} >/dev/null || true
fi
"""

_SYSTEMD_POSTRM = """\
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
    for unit in {units}; do
        deb-systemd-helper purge "$unit" >/dev/null || true
    done
fi
"""


def _units_scripts(units: str, configure_first: str = "") -> dict[str, str]:
    postinst = '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n'
    postinst += "".join(f"    {line}\n" for line in configure_first.splitlines())
    postinst += "".join(f"    {line}\n" for line in _SYSTEMD_ENABLE_START.format(units=units).splitlines())
    postinst += "fi\n"
    return {
        "postinst": postinst,
        "prerm": _SYSTEMD_STOP.format(units=units),
        "postrm": _SYSTEMD_POSTRM.format(units=units),
    }


def _decoy(name: str, version: str, summary: str) -> Package:
    return Package(
        name=name,
        version=version,
        description=f"{summary} (hymt stand-in: a newer release that the pins must not pick)\n"
        + STANDIN_NOTE.format(real=f"{name} {version}", payload="no files: installing it means a pin was lost"),
        homepage="https://www.docker.com",
    )


def _buildx_plugin(version: str) -> str:
    return f"""#!/bin/sh
# hymt stand-in for docker-buildx-plugin {version}: a Docker CLI plugin that can only say its version.
case "$1" in
    docker-cli-plugin-metadata)
        echo '{{"SchemaVersion":"0.1.0","Vendor":"Docker Inc.","Version":"v{version}",\
"ShortDescription":"Docker Buildx (hymt stand-in)","URL":"https://github.com/docker/buildx"}}'
        exit 0 ;;
esac
[ "$1" = buildx ] && shift
if [ "$1" = version ]; then
    echo "github.com/docker/buildx v{version} hymt-standin"
    exit 0
fi
echo "docker buildx: hymt-deploy's test stand-in for docker-buildx-plugin {version} only answers 'version'." >&2
exit 1
"""


COMPOSE_PROGRAM = "/usr/libexec/docker/hymt-standin/docker-compose"


def _compose_plugin(version: str) -> str:
    return f"""#!/bin/sh
# hymt stand-in for docker-compose-plugin {version}: answers 'version' as Compose {version} does and runs Debian's
# Compose v2 program ({COMPOSE_PROGRAM}) for every other command.
case "$1" in
    docker-cli-plugin-metadata)
        echo '{{"SchemaVersion":"0.1.0","Vendor":"Docker Inc.","Version":"v{version}",\
"ShortDescription":"Docker Compose","URL":"https://github.com/docker/compose"}}'
        exit 0 ;;
esac
# Run as a CLI plugin ('docker compose ...'), the first argument is the plugin's own name.
question="$*"
question="${{question#compose }}"
case "$question" in
    "version --short") echo "{version}"; exit 0 ;;
    "version --format json"|"version --format=json") echo '{{"version":"v{version}"}}'; exit 0 ;;
    "version") echo "Docker Compose version v{version}"; exit 0 ;;
esac
exec {COMPOSE_PROGRAM} "$@"
"""


def docker_ce_packages(distribution: Distribution, pins: dict = PINS) -> list[Package]:
    versions = docker_ce_versions(distribution, pins)
    suffix = distribution.docker_suffix
    engine_note = "Debian's docker.io 20.10 engine (dockerd, docker-proxy) and tini as docker-init"
    containerd = Package(
        name="containerd.io",
        version=versions["containerd.io"],
        description="An open and reliable container runtime (hymt stand-in)\n"
        + STANDIN_NOTE.format(
            real=f"Docker's containerd.io {pins['hymt_containerd_io_version']}",
            payload="Debian's containerd 1.6 and runc programs",
        ),
        homepage="https://containerd.io",
        section="devel",
        depends=["init-system-helpers (>= 1.18~)", "libc6 (>= 2.34)", "libseccomp2 (>= 2.5.0)"],
        # As Docker's package: it is containerd and runc, in place of the distribution's packages.
        conflicts=["containerd", "runc"],
        replaces=["containerd", "runc"],
        provides=["containerd", "runc"],
        files=[
            Payload("/usr/bin/containerd", "deb", 0o755, deb="containerd", member="usr/bin/containerd"),
            Payload(
                "/usr/bin/containerd-shim-runc-v2",
                "deb",
                0o755,
                deb="containerd",
                member="usr/bin/containerd-shim-runc-v2",
            ),
            Payload("/usr/bin/runc", "deb", 0o755, deb="runc", member="usr/sbin/runc"),
            Payload(
                "/lib/systemd/system/containerd.service",
                "deb",
                deb="containerd",
                member="lib/systemd/system/containerd.service",
            ),
            # Docker's package leaves Kubernetes' CRI plugin off; Docker does not use it.
            Payload("/etc/containerd/config.toml", "text", content='disabled_plugins = ["cri"]\n'),
        ],
        scripts=_units_scripts("containerd.service"),
    )
    cli = Package(
        name="docker-ce-cli",
        version=versions["docker-ce-cli"],
        description="Docker CLI: the open-source application container engine (hymt stand-in)\n"
        + STANDIN_NOTE.format(
            real=f"Docker's docker-ce-cli {pins['hymt_docker_ce_version']}", payload="Debian's docker.io 20.10 CLI"
        ),
        homepage="https://www.docker.com",
        depends=["libc6 (>= 2.34)"],
        recommends=["docker-buildx-plugin", "docker-compose-plugin"],
        conflicts=["docker (<< 1.5~)", "docker-engine", "docker.io", "lxc-docker", "lxc-docker-virtual-package"],
        replaces=["docker-ce (<< 5:0)"],
        breaks=["docker-ce (<< 5:0)"],
        files=[Payload("/usr/bin/docker", "deb", 0o755, deb="docker.io", member="usr/bin/docker")],
    )
    engine = Package(
        name="docker-ce",
        version=versions["docker-ce"],
        description="Docker: the open-source application container engine (hymt stand-in)\n"
        + STANDIN_NOTE.format(real=f"Docker CE {pins['hymt_docker_ce_version']}", payload=engine_note),
        homepage="https://www.docker.com",
        depends=[
            "containerd.io (>= 2.1.5)",
            "docker-ce-cli",
            "iptables",
            "libseccomp2 (>= 2.3.0)",
            "libc6 (>= 2.34)",
            "libdevmapper1.02.1 (>= 2:1.02.97)",
            "libsystemd0",
        ],
        recommends=["apparmor", "ca-certificates", "docker-ce-rootless-extras", "git", "pigz", "procps", "xz-utils"],
        suggests=["cgroupfs-mount | cgroup-lite"],
        conflicts=["docker (<< 1.5~)", "docker-engine", "docker.io"],
        replaces=["docker-engine"],
        files=[
            Payload("/usr/bin/dockerd", "deb", 0o755, deb="docker.io", member="usr/sbin/dockerd"),
            Payload("/usr/bin/docker-proxy", "deb", 0o755, deb="docker.io", member="usr/sbin/docker-proxy"),
            Payload("/usr/bin/docker-init", "deb", 0o755, deb="tini", member="usr/bin/tini-static"),
            # Debian's units, with dockerd where Docker CE installs it and without Debian's /etc/default/docker.
            Payload(
                "/lib/systemd/system/docker.service",
                "deb",
                deb="docker.io",
                member="lib/systemd/system/docker.service",
                replace=[
                    ("EnvironmentFile=-/etc/default/docker\n", ""),
                    (" $DOCKER_OPTS", ""),
                    ("/usr/sbin/dockerd", "/usr/bin/dockerd"),
                ],
            ),
            Payload(
                "/lib/systemd/system/docker.socket", "deb", deb="docker.io", member="lib/systemd/system/docker.socket"
            ),
        ],
        scripts=_units_scripts(
            "docker.socket docker.service",
            configure_first="getent group docker >/dev/null || groupadd --system docker",
        ),
    )
    buildx_version = pins["hymt_docker_buildx_version"]
    buildx = Package(
        name="docker-buildx-plugin",
        version=versions["docker-buildx-plugin"],
        description="Docker Buildx CLI plugin (hymt stand-in)\n"
        + STANDIN_NOTE.format(
            real=f"Docker Buildx {buildx_version}", payload="a CLI plugin script that only answers 'version'"
        ),
        homepage="https://github.com/docker/buildx",
        files=[
            Payload(
                "/usr/libexec/docker/cli-plugins/docker-buildx", "text", 0o755, content=_buildx_plugin(buildx_version)
            )
        ],
    )
    compose_version = pins["hymt_docker_compose_plugin_version"]
    compose = Package(
        name="docker-compose-plugin",
        version=versions["docker-compose-plugin"],
        description="Docker Compose CLI plugin (hymt stand-in)\n"
        + STANDIN_NOTE.format(
            real=f"Docker Compose {compose_version}",
            payload=f"Debian's Compose {pins['hymt_compose_deb_version']} program, which answers 'version' as "
            f"Compose {compose_version}",
        ),
        homepage="https://github.com/docker/compose",
        depends=["libc6 (>= 2.34)"],
        files=[
            Payload(
                "/usr/libexec/docker/cli-plugins/docker-compose",
                "text",
                0o755,
                content=_compose_plugin(compose_version),
            ),
            Payload(
                COMPOSE_PROGRAM,
                "deb",
                0o755,
                deb="docker-compose",
                member="usr/libexec/docker/cli-plugins/docker-compose",
            ),
        ],
    )
    decoys = [
        _decoy("docker-ce", f"5:{newer(pins['hymt_docker_ce_version'])}{suffix}", "Docker"),
        _decoy("docker-ce-cli", f"5:{newer(pins['hymt_docker_ce_version'])}{suffix}", "Docker CLI"),
        _decoy("containerd.io", f"{newer(pins['hymt_containerd_io_version'])}{suffix}", "containerd"),
        _decoy("docker-buildx-plugin", f"{newer(buildx_version)}{suffix}", "Docker Buildx"),
        _decoy("docker-compose-plugin", f"{newer(compose_version)}{suffix}", "Docker Compose"),
    ]
    return [containerd, cli, engine, buildx, compose, *decoys]


def docker_ce_repositories(distributions: list[Distribution], pins: dict = PINS) -> list[Repository]:
    """Docker's repository for each distribution: download.docker.com/linux/<distribution>/dists/<codename>/stable,
    its packages in dists/<codename>/pool/stable/<arch>/ as Docker's are."""
    return [
        Repository(
            root=f"download.docker.com/linux/{distribution.docker_path}",
            key="docker",
            packages=docker_ce_packages(distribution, pins),
            origin="Docker",
            label="Docker CE",
            suite=distribution.codename,
            component="stable",
            pool=f"dists/{distribution.codename}/pool/stable/amd64",
        )
        for distribution in distributions
    ]


# ---- NVIDIA -------------------------------------------------------------------------------------------------------

NVIDIA_HOMEPAGE = "https://www.nvidia.com"
STANDIN_CONFIG = "/etc/nvidia-standin/config.json"
LOADED_MARKER = "/run/nvidia-standin/loaded"
MODULE_UNIT = "hymt-nvidia-standin-module.service"
# The highest CUDA each driver branch supports (nvidia-smi's header).
BRANCH_CUDA = {"580": "13.0", "590": "13.1"}
# The next branch's first release: the CUDA repository offers it too, and only the pinning package keeps it away.
NEXT_BRANCH_DRIVER = "590.44.01"

# The GPUs the stand-in nvidia-smi reports on each machine of the proof (as the machines' transcribed lspci shows them).
GPU_OF_MACHINE = {
    "debian-12-a100": {
        "name": "NVIDIA A100 80GB PCIe",
        "memory_mb": 81920,
        "bus_id": "00000000:17:00.0",
        "uuid": "GPU-3c5a8e21-7d4b-4f0e-9a61-2b8d5c7e4f13",
    },
    "ubuntu-2404-aws-l4": {
        "name": "NVIDIA L4",
        "memory_mb": 23034,
        "bus_id": "00000000:00:1E.0",
        "uuid": "GPU-8e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
    },
}


def driver_version(pins: dict = PINS) -> str:
    """The stand-in driver release of the pinned branch: the release the plain vLLM image needs."""
    branch, release = pins["hymt_nvidia_driver_branch"], pins["hymt_vllm_cuda_driver_min"]
    if not release.startswith(branch + "."):
        raise ValueError(f"hymt_vllm_cuda_driver_min {release} is not of branch {branch}; give the stand-in a release")
    return release


def _config(version: str, machine: str) -> Payload:
    config = {
        "driver_version": version,
        "cuda_version": BRANCH_CUDA[version.split(".")[0]],
        "gpus": [GPU_OF_MACHINE[machine]],
        "loaded_marker": LOADED_MARKER,
        "state": "working",
    }
    return Payload(STANDIN_CONFIG, "text", content=json.dumps(config, indent=2) + "\n")


def _nvidia_smi() -> Payload:
    return Payload("/usr/bin/nvidia-smi", "input", 0o755, source="standin_bin/nvidia-smi")


def _module_unit(what: str) -> tuple[Payload, dict[str, str]]:
    """The stand-in's kernel module: a unit enabled on install that marks it loaded at the next boot."""
    unit = f"""[Unit]
Description=hymt stand-in: {what} counts as loaded from boot on (no real module)
DefaultDependencies=no
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p {Path(LOADED_MARKER).parent} && touch {LOADED_MARKER}'
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
"""
    scripts = {
        # Enabled, not started: like a new kernel module, it loads at the next boot.
        "postinst": f"""#!/bin/sh
set -e
if [ "$1" = configure ]; then
    deb-systemd-helper enable {MODULE_UNIT} >/dev/null || true
fi
""",
        "postrm": f"""#!/bin/sh
set -e
if [ "$1" = purge ]; then
    deb-systemd-helper purge {MODULE_UNIT} >/dev/null || true
fi
""",
    }
    return Payload(f"/lib/systemd/system/{MODULE_UNIT}", "text", content=unit), scripts


def _nvidia_note(real: str, payload: str) -> str:
    return STANDIN_NOTE.format(real=real, payload=payload)


def cuda_repository_packages(machine: str, pins: dict = PINS) -> list[Package]:
    """NVIDIA's CUDA repository for Debian 12: cuda-keyring, and per branch its pinning package and the open driver
    (nvidia-open -> nvidia-driver-cuda with nvidia-smi, nvidia-kernel-open-dkms with the module)."""
    keyring_version = pins["hymt_cuda_keyring_version"]
    keyring = Package(
        name="cuda-keyring",
        version=keyring_version,
        architecture="all",
        section="misc",
        homepage=NVIDIA_HOMEPAGE,
        description="GPG keyring for the CUDA repository (hymt stand-in)\n"
        + _nvidia_note(f"NVIDIA's cuda-keyring {keyring_version}", "the stand-in repository's key"),
        files=[
            Payload("/usr/share/keyrings/cuda-archive-keyring.gpg", "key", key="cuda"),
            # As the real package: a list file naming NVIDIA's host (the role replaces it with its own source).
            Payload(
                "/etc/apt/sources.list.d/cuda-debian12-x86_64.list",
                "text",
                content="deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] "
                "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/ /\n",
            ),
        ],
    )
    packages = [keyring]
    for version in (driver_version(pins), NEXT_BRANCH_DRIVER):
        branch = version.split(".")[0]
        full = f"{version}-1"
        module, module_scripts = _module_unit(f"nvidia-kernel-open-dkms {version}")
        pinned = [
            "nvidia-open",
            "nvidia-driver-cuda",
            "nvidia-kernel-open-dkms",
            "cuda-drivers",
        ]
        packages += [
            Package(
                name=f"nvidia-driver-pinning-{branch}",
                version=full,
                architecture="all",
                section="misc",
                homepage=NVIDIA_HOMEPAGE,
                description=f"Pins the NVIDIA driver to branch {branch} (hymt stand-in)\n"
                + _nvidia_note(
                    f"NVIDIA's nvidia-driver-pinning-{branch}", f"an apt preference for the {branch} branch"
                ),
                conflicts=[f"nvidia-driver-pinning-{other}" for other in ("580", "590") if other != branch],
                files=[
                    Payload(
                        f"/etc/apt/preferences.d/nvidia-driver-pinning-{branch}",
                        "text",
                        content=f"# The NVIDIA driver packages stay on branch {branch} (hymt stand-in).\n"
                        f"Package: {' '.join(pinned)}\nPin: version {branch}.*\nPin-Priority: 1000\n",
                    )
                ],
            ),
            Package(
                name="nvidia-open",
                version=full,
                section="metapackages",
                homepage=NVIDIA_HOMEPAGE,
                description=f"NVIDIA driver {version} with the open kernel modules (hymt stand-in)\n"
                + _nvidia_note(f"NVIDIA's nvidia-open {version}", "nothing but its dependencies"),
                depends=[f"nvidia-driver-cuda (= {full})", f"nvidia-kernel-open-dkms (= {full})"],
            ),
            Package(
                name="nvidia-driver-cuda",
                version=full,
                homepage=NVIDIA_HOMEPAGE,
                description=f"NVIDIA driver {version}: nvidia-smi and the CUDA driver (hymt stand-in)\n"
                + _nvidia_note(f"NVIDIA's driver {version}", "hymt's stand-in nvidia-smi and its configuration"),
                # A package of Debian's contrib component, which the host must have enabled (debian_contrib_packages).
                depends=["python3", "glx-alternative-nvidia"],
                files=[_nvidia_smi(), _config(version, machine)],
            ),
            Package(
                name="nvidia-kernel-open-dkms",
                version=full,
                section="kernel",
                homepage=NVIDIA_HOMEPAGE,
                description=f"NVIDIA's open kernel modules {version}, built by DKMS (hymt stand-in)\n"
                + _nvidia_note(f"NVIDIA's open kernel modules {version}", "a unit that marks them loaded at boot"),
                files=[module],
                scripts=module_scripts,
            ),
        ]
    return packages


def debian_kernel_headers(machine: Machine) -> list[Package]:
    """The running kernel's headers, which DKMS builds against: Debian's archive has them, the stand-in serves them."""
    kernel = machine.kernel_release  # 6.1.0-37-cloud-amd64
    flavour = kernel.split("-", 2)[2]  # cloud-amd64
    version = "6.1.140-1"  # the Debian kernel package that ABI 6.1.0-37 comes from (its /proc/version says so)
    note = _nvidia_note(f"Debian's headers of Linux {kernel}", "no headers")
    return [
        Package(
            name=f"linux-headers-{kernel}",
            version=version,
            section="kernel",
            maintainer="Debian Kernel Team <debian-kernel@lists.debian.org>",
            description=f"Header files for Linux {kernel} (hymt stand-in)\n" + note,
        ),
        Package(
            name=f"linux-headers-{flavour}",
            version=version,
            section="kernel",
            maintainer="Debian Kernel Team <debian-kernel@lists.debian.org>",
            description=f"Header files for Linux {flavour} configuration (meta-package; hymt stand-in)\n" + note,
            depends=[f"linux-headers-{kernel} (= {version})"],
        ),
    ]


def debian_contrib_packages() -> list[Package]:
    """What the CUDA repository's driver needs from Debian's contrib component. Debian ships glx-alternative-nvidia in
    contrib (packages.debian.org), and its packaging of the driver depends on it through nvidia-alternative; NVIDIA's
    Debian instructions enable contrib. Whether NVIDIA's 580 packages pull exactly this one in could not be read from
    NVIDIA's repository metadata here (docs/gpu-host.md): the stand-in models the dependency the instructions imply."""
    return [
        Package(
            name="glx-alternative-nvidia",
            version="1.2.2",
            architecture="all",
            section="contrib/libs",
            maintainer="Debian NVIDIA Maintainers <pkg-nvidia-devel@lists.alioth.debian.org>",
            description="allows the selection of NVIDIA as GLX provider (hymt stand-in)\n"
            + _nvidia_note("Debian's glx-alternative-nvidia 1.2.2 (contrib)", "nothing"),
        )
    ]


def ubuntu_driver_packages(machine: Machine, pins: dict = PINS) -> list[Package]:
    """Canonical's server driver and its precompiled, signed modules for the machine's kernel (restricted)."""
    branch = pins["hymt_nvidia_driver_branch"]
    version = driver_version(pins)
    full = f"{version}-0ubuntu0.{machine.release}.1"
    kernel = machine.kernel_release  # 6.8.0-1021-aws
    base, abi, flavour = kernel.split("-", 2)
    modules_version = f"{base}-{abi}.1"
    server = f"{branch}-server"
    module, module_scripts = _module_unit(f"linux-modules-nvidia-{server}-open-{kernel}")
    canonical = "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"
    return [
        Package(
            name=f"linux-modules-nvidia-{server}-open-{kernel}",
            version=modules_version,
            section="restricted/kernel",
            maintainer=canonical,
            description=f"Linux kernel nvidia modules for version {kernel} (hymt stand-in)\n"
            + _nvidia_note(f"Canonical's signed NVIDIA {server} open modules", "a unit that marks them loaded at boot"),
            depends=[f"nvidia-kernel-common-{server} (>= {version})"],
            files=[module],
            scripts=module_scripts,
        ),
        Package(
            name=f"linux-modules-nvidia-{server}-open-{flavour}",
            version=modules_version,
            section="restricted/kernel",
            maintainer=canonical,
            description=f"Extra drivers for nvidia-{server}-open for the {flavour} flavour (hymt stand-in)\n"
            + _nvidia_note(f"Canonical's linux-modules-nvidia-{server}-open-{flavour}", "nothing but its dependency"),
            depends=[f"linux-modules-nvidia-{server}-open-{kernel} (= {modules_version})"],
        ),
        Package(
            name=f"nvidia-driver-{server}-open",
            version=full,
            section="restricted/libs",
            maintainer=canonical,
            description="NVIDIA Server Driver metapackage, open kernel modules (hymt stand-in)\n"
            + _nvidia_note(f"Canonical's nvidia-driver-{server}-open {version}", "nothing but its dependencies"),
            depends=[
                f"nvidia-utils-{server} (= {full})",
                f"nvidia-kernel-common-{server} (= {full})",
                f"libnvidia-compute-{server} (= {full})",
            ],
        ),
        Package(
            name=f"nvidia-utils-{server}",
            version=full,
            section="restricted/utils",
            maintainer=canonical,
            description="NVIDIA Server Driver support binaries (hymt stand-in)\n"
            + _nvidia_note(f"Canonical's nvidia-utils-{server} {version}", "hymt's stand-in nvidia-smi"),
            depends=["python3", f"libnvidia-compute-{server} (>= {version})", f"nvidia-kernel-common-{server}"],
            files=[_nvidia_smi()],
        ),
        Package(
            name=f"nvidia-kernel-common-{server}",
            version=full,
            section="restricted/libs",
            maintainer=canonical,
            description="Shared files used with the kernel module (hymt stand-in)\n"
            + _nvidia_note(f"Canonical's nvidia-kernel-common-{server}", "the stand-in nvidia-smi's configuration"),
            files=[_config(version, "ubuntu-2404-aws-l4")],
        ),
        Package(
            name=f"libnvidia-compute-{server}",
            version=full,
            section="restricted/libs",
            maintainer=canonical,
            description="NVIDIA libcompute package (hymt stand-in)\n"
            + _nvidia_note(f"Canonical's libnvidia-compute-{server}", "no libraries"),
        ),
    ]


def _runtime_wrapper(version: str) -> str:
    return f"""#!/bin/sh
# hymt stand-in for nvidia-container-runtime {version}: the real one adds the GPUs to a container's OCI spec and runs
# runc; with no GPU to add, this one runs runc alone, so that containers started with --runtime=nvidia work.
exec runc "$@"
"""


def _container_cli(version: str) -> str:
    return f"""#!/bin/sh
# hymt stand-in for nvidia-container-cli {version}: it only says its version.
if [ "$1" = --version ] || [ "$1" = -V ]; then
    echo "cli-version: {version}"
    echo "lib-version: {version}"
    exit 0
fi
echo "nvidia-container-cli: hymt-deploy's test stand-in only answers --version" >&2
exit 1
"""


def toolkit_packages(version: str) -> list[Package]:
    """The NVIDIA Container Toolkit's four packages, all <version>-1, depending on each other as the real ones do."""
    full = f"{version}-1"
    homepage = "https://github.com/NVIDIA/nvidia-container-toolkit"
    maintainer = "NVIDIA CORPORATION <cudatools@nvidia.com>"

    def note(name: str, payload: str) -> str:
        return _nvidia_note(f"NVIDIA's {name} {version}", payload)

    return [
        Package(
            name="libnvidia-container1",
            version=full,
            section="libs",
            maintainer=maintainer,
            homepage="https://github.com/NVIDIA/libnvidia-container",
            description="NVIDIA container runtime library (hymt stand-in)\n"
            + note("libnvidia-container1", "no library"),
            depends=["libc6 (>= 2.34)"],
        ),
        Package(
            name="libnvidia-container-tools",
            version=full,
            section="utils",
            maintainer=maintainer,
            homepage="https://github.com/NVIDIA/libnvidia-container",
            description="NVIDIA container runtime library, command-line tools (hymt stand-in)\n"
            + note("libnvidia-container-tools", "an nvidia-container-cli that only says its version"),
            depends=[f"libnvidia-container1 (>= {full})", "libnvidia-container1 (<< 2.0.0)"],
            files=[Payload("/usr/bin/nvidia-container-cli", "text", 0o755, content=_container_cli(version))],
        ),
        Package(
            name="nvidia-container-toolkit-base",
            version=full,
            section="utils",
            maintainer=maintainer,
            homepage=homepage,
            description="NVIDIA Container Toolkit Base (hymt stand-in)\n"
            + note(
                "nvidia-container-toolkit-base",
                "hymt's stand-in nvidia-ctk (reporting this version) and an nvidia-container-runtime that runs runc",
            ),
            depends=["python3"],
            breaks=["nvidia-container-toolkit (<< 1.11.0~rc.1)"],
            replaces=["nvidia-container-toolkit (<< 1.11.0~rc.1)"],
            files=[
                Payload(
                    "/usr/bin/nvidia-ctk",
                    "input",
                    0o755,
                    source="standin_bin/nvidia-ctk",
                    replace=[
                        (
                            f'"toolkit_version": "{PINS["hymt_nvidia_container_toolkit_version"]}"',
                            f'"toolkit_version": "{version}"',
                        )
                    ],
                ),
                Payload("/usr/bin/nvidia-container-runtime", "text", 0o755, content=_runtime_wrapper(version)),
            ],
        ),
        Package(
            name="nvidia-container-toolkit",
            version=full,
            section="utils",
            maintainer=maintainer,
            homepage=homepage,
            description="NVIDIA Container toolkit (hymt stand-in)\n"
            + note("nvidia-container-toolkit", "nothing but its dependencies"),
            depends=[
                f"nvidia-container-toolkit-base (= {full})",
                f"libnvidia-container-tools (>= {full})",
                "libnvidia-container-tools (<< 2.0.0)",
            ],
        ),
    ]


# ---- The whole plan ----------------------------------------------------------------------------------------------

# Keys, by name: throw-away ones made for each run. Each repository has its own, as the real ones do, so a role that
# takes one repository's key for another fails.
KEYS = {
    "docker": "Docker Release (CE deb) hymt test stand-in <docker@hymt.invalid>",
    "nvidia-container-toolkit": "NVIDIA CORPORATION (Open Source Projects) hymt test stand-in <nvidia@hymt.invalid>",
    "cuda": "cudatools hymt test stand-in <cudatools@hymt.invalid>",
    "debian": "Debian Stable Release Key hymt test stand-in <debian@hymt.invalid>",
    "ubuntu": "Ubuntu Archive Automatic Signing Key hymt test stand-in <ubuntu@hymt.invalid>",
}

# Paths below the server, each standing in for a real site (mirrors are the same tree under the mirror's path).
DOCKER_SITE = "download.docker.com"
DOCKER_MIRROR = "mirrors.ustc.edu.cn/docker-ce"
TOOLKIT_SITE = "nvidia.github.io/libnvidia-container"
TOOLKIT_MIRROR = "mirrors.ustc.edu.cn/libnvidia-container"
CUDA_REPOSITORIES = "developer.download.nvidia.com/compute/cuda/repos"
DEBIAN_ARCHIVE = "deb.debian.org/debian"
UBUNTU_ARCHIVE = "archive.ubuntu.com/ubuntu"
UBUNTU_MIRROR = "mirrors.ustc.edu.cn/ubuntu"
# Where the Debian and Ubuntu machines of the proof come from (tests/gpu/machines.py).
DEBIAN_MACHINE = "debian-12-a100"
UBUNTU_MACHINE = "ubuntu-2404-aws-l4"


def gpu_plan(pins: dict = PINS) -> Plan:
    distributions = [DEBIAN_12, UBUNTU_2404]
    toolkit_version = pins["hymt_nvidia_container_toolkit_version"]
    debian, ubuntu = MACHINES[DEBIAN_MACHINE], MACHINES[UBUNTU_MACHINE]
    repositories = [
        *docker_ce_repositories(distributions, pins),
        Repository(
            root=f"{TOOLKIT_SITE}/stable/deb/amd64",
            key="nvidia-container-toolkit",
            packages=toolkit_packages(toolkit_version) + toolkit_packages(newer(toolkit_version)),
            origin="https://nvidia.github.io/libnvidia-container",
            label="libnvidia-container",
            flat=True,
        ),
        Repository(
            root=f"{CUDA_REPOSITORIES}/debian12/x86_64",
            key="cuda",
            packages=cuda_repository_packages(DEBIAN_MACHINE, pins),
            origin="NVIDIA",
            label="NVIDIA CUDA",
            flat=True,
        ),
        Repository(
            root=DEBIAN_ARCHIVE,
            key="debian",
            packages=debian_kernel_headers(debian),
            origin="Debian",
            label="Debian",
            suite="bookworm",
            component="main",
            pool="pool/main/l",
        ),
        # Debian's contrib component, which stock Debian hosts do not enable (the role must).
        *(
            Repository(
                root=DEBIAN_ARCHIVE,
                key="debian",
                packages=debian_contrib_packages() if suite == "bookworm" else [],
                origin="Debian",
                label="Debian",
                suite=suite,
                component="contrib",
                pool="pool/contrib/g",
            )
            for suite in ("bookworm", "bookworm-updates")
        ),
        Repository(
            root=UBUNTU_ARCHIVE,
            key="ubuntu",
            packages=ubuntu_driver_packages(ubuntu, pins),
            origin="Ubuntu",
            label="Ubuntu",
            suite=f"{ubuntu.codename}-updates",
            component="restricted",
            pool="pool/restricted",
        ),
        # The archive's other suites, empty: a host whose sources the base role writes for a mirror (the ubuntu
        # host, through the cn preset) asks for each of them, and apt fails on a suite without a Release file.
        *(
            Repository(
                root=UBUNTU_ARCHIVE,
                key="ubuntu",
                packages=[],
                origin="Ubuntu",
                label="Ubuntu",
                suite=suite,
                component="main",
                pool="pool/main",
            )
            for suite in (ubuntu.codename, f"{ubuntu.codename}-backports", f"{ubuntu.codename}-security")
        ),
    ]
    files = [
        # Docker publishes one key, under each distribution's path.
        *(
            Payload(f"/{DOCKER_SITE}/linux/{distribution.docker_path}/gpg", "key", key="docker", armor=True)
            for distribution in distributions
        ),
        Payload(f"/{TOOLKIT_SITE}/gpgkey", "key", key="nvidia-container-toolkit", armor=True),
        # NVIDIA's guide fetches this list file (the role writes its own deb822 source instead).
        Payload(
            f"/{TOOLKIT_SITE}/stable/deb/nvidia-container-toolkit.list",
            "text",
            content="deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] "
            "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n",
        ),
        # The distributions' archive keys, which a real host has preinstalled (the tests install them).
        Payload("/keys/debian-archive-standin.gpg", "key", key="debian"),
        Payload("/keys/ubuntu-archive-keyring.gpg", "key", key="ubuntu"),
    ]
    return Plan(
        keys=KEYS,
        repositories=repositories,
        files=files,
        links={DOCKER_MIRROR: DOCKER_SITE, TOOLKIT_MIRROR: TOOLKIT_SITE, UBUNTU_MIRROR: UBUNTU_ARCHIVE},
    )
