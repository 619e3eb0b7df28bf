"""The NVIDIA roles against the stand-ins of NVIDIA's and the distributions' repositories, on the two hosts of the
session (tests/gpu/conftest.py): Debian 12 with an A100 (NVIDIA's CUDA repository: cuda-keyring, the branch's pinning
package, nvidia-open) and, faked, Ubuntu 24.04 with an L4 on an AWS kernel (Canonical's 580-server-open driver with
its signed modules for that kernel); the NVIDIA Container Toolkit on both, and the nvidia runtime in Docker's
daemon.json.

The stand-in driver "loads" only after a reboot and its nvidia-smi answers only then, so the role's stop for the
reboot, and the run after it, are real. The repositories also offer what a wrong pin would get: the next driver
branch (590) and a newer toolkit.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.gpu.conftest import STANDIN_DEBIAN_KEYRING
from tests.gpu.standin_packages import (
    CUDA_REPOSITORIES,
    DEBIAN_ARCHIVE,
    GPU_OF_MACHINE,
    NEXT_BRANCH_DRIVER,
    PINS,
    TOOLKIT_SITE,
    debian_contrib_packages,
    debian_kernel_headers,
    driver_version,
)
from tests.gpu.test_repo_docker_ce import deb822, installed_versions

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

BRANCH = PINS["hymt_nvidia_driver_branch"]
DRIVER = driver_version()
TOOLKIT = PINS["hymt_nvidia_container_toolkit_version"]
TOOLKIT_PACKAGES = ["nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools"]
TOOLKIT_PACKAGES += ["libnvidia-container1"]


@pytest.fixture(params=["debian_host", "ubuntu_host"])
def gpu_host(request):
    return request.getfixturevalue(request.param)


def test_the_driver_is_installed_then_the_run_stops_for_the_reboot(gpu_host):
    run = gpu_host.first.run
    assert run.returncode != 0, run.explain()
    failed = run.failures(gpu_host.name)
    assert [result.task for result in failed] == ["nvidia_driver : Stop until the host is rebooted"], run.explain()
    assert "reboot" in failed[0].message
    changed = run.changed_tasks(gpu_host.name)
    assert any(task.startswith("nvidia_driver : Install nvidia-") for task in changed), run.explain()
    assert "nvidia_driver : Leave the marker" in changed


def test_the_debian_driver_comes_from_the_cuda_repository_on_its_branch(debian_host):
    full = f"{DRIVER}-1"
    headers = {package.name: package.version for package in debian_kernel_headers(debian_host.machine)}
    wanted = {
        "cuda-keyring": PINS["hymt_cuda_keyring_version"],
        f"nvidia-driver-pinning-{BRANCH}": full,
        "nvidia-open": full,
        "nvidia-driver-cuda": full,
        "nvidia-kernel-open-dkms": full,
    } | headers
    assert installed_versions(debian_host, wanted) == wanted
    # The repository offers the next branch too; the pinning package keeps apt on the pinned one.
    policy = debian_host.out("apt-cache policy nvidia-open")
    assert f"Candidate: {full}" in policy and f"{NEXT_BRANCH_DRIVER}-1" in policy, policy


def test_the_cuda_repository_replaces_the_keyrings_list_file(debian_host, apt_repo):
    sources = "/etc/apt/sources.list.d"
    repository = apt_repo.url_of(f"{CUDA_REPOSITORIES}/debian12/x86_64")
    # One definition of the repository: the role's deb822 source, in place of the keyring package's list file.
    (defining,) = debian_host.out(f"grep -l -r -e {repository} -e developer.download.nvidia.com {sources}").split()
    assert defining.endswith(".sources")
    source = deb822(debian_host.out(f"cat {defining}"))
    assert {name: source.get(name) for name in ("Types", "URIs", "Suites", "Signed-By")} == {
        "Types": "deb",
        "URIs": repository + "/",
        "Suites": "/",
        "Signed-By": "/usr/share/keyrings/cuda-archive-keyring.gpg",
    }
    assert debian_host.sh(f"test -e {sources}/cuda-debian12-x86_64.list", check=False).returncode == 1


def test_debians_contrib_component_is_enabled_for_the_drivers_dependencies(debian_host, apt_repo):
    source = deb822(debian_host.out("cat /etc/apt/sources.list.d/debian-contrib.sources"))
    assert {name: source.get(name) for name in ("Types", "URIs", "Suites", "Components", "Signed-By")} == {
        "Types": "deb",
        "URIs": apt_repo.url_of(DEBIAN_ARCHIVE),
        "Suites": "bookworm bookworm-updates",
        "Components": "contrib",
        "Signed-By": STANDIN_DEBIAN_KEYRING,
    }
    # The stand-in driver needs a package that only the archive's contrib component has; it came from there.
    wanted = {package.name: package.version for package in debian_contrib_packages()}
    assert installed_versions(debian_host, wanted) == wanted
    # The host's own sources stay as they were: main only.
    assert "contrib" not in debian_host.out("cat /etc/apt/sources.list.d/debian.sources")


def test_ubuntu_hosts_get_no_debian_component(ubuntu_host):
    assert ubuntu_host.sh("test -e /etc/apt/sources.list.d/debian-contrib.sources", check=False).returncode == 1


def test_the_ubuntu_driver_is_canonicals_with_the_signed_modules_of_the_running_kernel(ubuntu_host):
    kernel = ubuntu_host.machine.kernel_release
    flavour = kernel.split("-", 2)[2]
    server = f"{BRANCH}-server"
    packages = [
        f"nvidia-driver-{server}-open",
        f"nvidia-utils-{server}",
        f"linux-modules-nvidia-{server}-open-{kernel}",
        f"linux-modules-nvidia-{server}-open-{flavour}",
    ]
    installed = installed_versions(ubuntu_host, packages)
    assert sorted(installed) == sorted(packages)
    assert installed[f"nvidia-driver-{server}-open"].startswith(f"{DRIVER}-0ubuntu0.24.04")


def test_nvidia_smi_answers_after_the_reboot_and_the_driver_is_kept(gpu_host):
    gpu = GPU_OF_MACHINE[gpu_host.machine_name]
    answer = gpu_host.out("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader")
    assert answer == f"{gpu['name']}, {DRIVER}"
    run = gpu_host.provisioned.run
    assert run.returncode == 0 and run.succeeded(gpu_host.name), run.explain()
    # Preflight found the GPU through the driver this time, not through the faked PCI bus.
    assert any(f"{gpu['name']}, driver {DRIVER} (CUDA " in m for m in run.messages(gpu_host.name)), run.explain()
    assert "nvidia_driver : Forget a pending reboot once the driver works" in run.changed_tasks(gpu_host.name)
    assert gpu_host.sh("test -e /var/lib/hymt/nvidia-driver-reboot-pending", check=False).returncode == 1


def test_the_toolkit_is_pinned_from_nvidias_repository_or_its_mirror(gpu_host, apt_repo):
    wanted = dict.fromkeys(TOOLKIT_PACKAGES, f"{TOOLKIT}-1")
    assert installed_versions(gpu_host, wanted) == wanted
    source = deb822(gpu_host.out("cat /etc/apt/sources.list.d/nvidia-container-toolkit.sources"))
    assert source["URIs"] == apt_repo.url_of(f"{gpu_host.toolkit_mirror}/stable/deb/amd64") + "/"
    assert source["Suites"] == "/"
    key = gpu_host.out(f"cat {source['Signed-By']}")
    assert key == (apt_repo.tree / TOOLKIT_SITE / "gpgkey").read_text().strip()


def test_nvidia_ctk_reports_the_pinned_version_and_cdi_names_the_gpus(gpu_host):
    assert gpu_host.out("nvidia-ctk --version").splitlines()[0].endswith(f"version {TOOLKIT}")
    devices = gpu_host.out("nvidia-ctk cdi list").splitlines()
    assert "nvidia.com/gpu=all" in devices
    assert gpu_host.sh("test -s /var/run/cdi/nvidia.yaml", check=False).returncode == 0


def test_daemon_json_registers_the_nvidia_runtime_and_cdi(gpu_host):
    daemon = json.loads(gpu_host.out("cat /etc/docker/daemon.json"))
    assert daemon["runtimes"] == {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}
    assert daemon["features"] == {"cdi": True}
    runtimes = json.loads(gpu_host.out("docker info --format '{{json .Runtimes}}'"))
    assert runtimes["nvidia"]["path"] == "nvidia-container-runtime"


def test_the_gpu_proof_says_why_it_cannot_run_here(gpu_host):
    messages = gpu_host.provisioned.run.messages(gpu_host.name)
    assert any(
        m.startswith("Skipping the proof that containers see the GPUs: no /dev/nvidiactl on this host")
        for m in messages
    ), messages


def test_a_container_runs_with_the_nvidia_runtime(debian_host):
    image = PINS["hymt_debian_image"]
    saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    loaded = subprocess.run(
        debian_host.access.ssh_command("sudo", "docker", "load"), stdin=saved.stdout, capture_output=True, text=True
    )
    saved.stdout.close()
    assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr
    assert debian_host.out(f"docker run --rm --runtime nvidia {image} echo runs") == "runs"


def test_the_toolkit_and_the_driver_are_held_where_the_roles_put_them(gpu_host):
    held = set(gpu_host.out("apt-mark showhold").split())
    server = f"{BRANCH}-server"
    kernel = gpu_host.machine.kernel_release
    driver = (
        {f"nvidia-driver-pinning-{BRANCH}", "nvidia-open"}
        if gpu_host.tag == "debian"
        else {f"nvidia-driver-{server}-open", f"linux-modules-nvidia-{server}-open-{kernel.split('-', 2)[2]}"}
    )
    assert set(TOOLKIT_PACKAGES) | driver <= held, held
    # The repository offers a newer toolkit, which apt upgrade would otherwise take.
    upgrade = gpu_host.out("apt-get -s -o Debug::NoLocking=1 upgrade")
    assert not {line.split()[1] for line in upgrade.splitlines() if line.startswith("Inst ")} & set(TOOLKIT_PACKAGES)
