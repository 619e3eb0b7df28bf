"""What the NVIDIA roles decide on each kind of GPU machine, run as Ansible runs them.

Each case is a host of one inventory (connection: local), its preflight facts built from transcribed outputs of a real
machine (tests/gpu/machines.py), and the role runs in plan-only mode and check mode: it decides, says so, and sets its
plan as a fact, changing nothing on this machine. One ansible-playbook run covers every case. The packages are
checked by name here; that those names, repository lines and pins install is proven against the stand-in repository
on the rehearsal host (tests/gpu's converge tests). Ubuntu hosts cannot be created here, so the Ubuntu cases are
Ubuntu's facts, as the rehearsal host's Ubuntu runs are.
"""

from __future__ import annotations

import json

import pytest

from tests.ansible.conftest import GPU_SERVER_GROUPS, REHEARSAL_GROUPS, Case, CaseRunner
from tests.gpu.machines import DATA, MACHINES
from tests.support.repo import PINS

BRANCH = PINS["hymt_nvidia_driver_branch"]
TOOLKIT = PINS["hymt_nvidia_container_toolkit_version"]
IMAGE = PINS["hymt_vllm_image"]
# Paths the roles read, pointed at files of this test instead of this machine's (extra vars outrank role vars).
ABSENT = "/nonexistent/hymt-test/absent"
A_MARKER_LEFT_BY_AN_EARLIER_RUN = str(DATA / "README.md")
CLOUD_IMAGE_DAEMON_JSON = str(DATA / "daemon-json-gpu-cloud-image.json")


def case(
    role: str,
    machine: str,
    *,
    marker: str = ABSENT,
    daemon_json: str = ABSENT,
    groups=GPU_SERVER_GROUPS,
    driver: str = "",
    **vars,
):
    facts = (
        MACHINES[machine].facts()
        | (with_driver(machine, driver) if driver else {})
        | {
            "nvidia_driver_reboot_marker": marker,
            "nvidia_container_toolkit_daemon_json": daemon_json,
        }
    )
    plan_only = {
        "nvidia_driver": "nvidia_driver_plan_only",
        "nvidia_container_toolkit": "nvidia_container_toolkit_plan_only",
    }
    return Case(
        groups=groups,
        host_vars={"test_role": role, plan_only[role]: True, **vars},
        facts=facts,
        playbook="role.yml",
        check=True,
    )


def with_driver(machine: str, version: str) -> dict:
    """A transcribed machine's facts with another release of the same driver branch (the same output with only the
    version changed, for a release at an edge of the decision)."""
    facts = MACHINES[machine].facts()
    return {
        "preflight_nvidia_driver_version": version,
        "preflight_nvidia_gpus": [gpu | {"driver_version": version} for gpu in facts["preflight_nvidia_gpus"]],
    }


def driver(machine: str, **options) -> Case:
    return case("nvidia_driver", machine, **options)


def toolkit(machine: str, **options) -> Case:
    return case("nvidia_container_toolkit", machine, **options)


CU129 = {"hymt_vllm_image_variant": "-cu129"}

CASES = {
    # Nothing to do.
    "no-gpu": driver("cpu-only-vm"),
    "rehearsal-profile": driver("a10g-580", groups=REHEARSAL_GROUPS),
    "wsl": driver("wsl2-rtx4070"),
    # A working driver.
    "keep-580": driver("a10g-580"),
    "keep-590": driver("l40s-590"),
    # CUDA 13.0's own minimum (580.65.06) runs the plain image: kept, not upgraded.
    "keep-580-65": driver("a10g-580", driver=PINS["hymt_vllm_cuda_driver_min"]),
    "below-580-65": driver("a10g-580", driver="580.65.05"),
    "old-570-datacenter": driver("hgx-8xh100-570"),
    "old-570-datacenter-cu129": driver("hgx-8xh100-570", **CU129),
    "old-570-datacenter-upgrade": driver("hgx-8xh100-570", nvidia_driver_upgrade=True),
    "old-535-datacenter": driver("t4-535"),
    "old-535-datacenter-cu129": driver("t4-535", **CU129),
    "old-550-geforce-cu129": driver("rtx4090-550", **CU129),
    "old-575-geforce": driver("rtx4090-575"),
    "old-575-geforce-cu129": driver("rtx4090-575", **CU129),
    "volta-cuda13-image": driver("v100-580"),
    "volta-cu129": driver("v100-580", **CU129),
    # No driver: Ubuntu.
    "ubuntu-aws-ada": driver("ubuntu-2404-aws-l4"),
    "ubuntu-hwe-blackwell": driver("ubuntu-2204-hwe-rtx5090"),
    "ubuntu-ga-turing": driver("ubuntu-2204-ga-t4"),
    "ubuntu-gcp-pascal-p100": driver("ubuntu-2404-gcp-p100"),
    "ubuntu-pascal-gtx1080": driver("ubuntu-2204-gtx1080"),
    "ubuntu-turing-and-pascal": driver("ubuntu-2404-turing-and-pascal"),
    "ubuntu-hgx-nvswitch": driver("ubuntu-2204-hgx-8xh100"),
    "ubuntu-kepler": driver("ubuntu-2404-k80"),
    "ubuntu-unknown-architecture": driver("ubuntu-2404-gt220"),
    "ubuntu-unknown-architecture-forced-proprietary": driver(
        "ubuntu-2404-gt220", nvidia_driver_kernel_modules="proprietary"
    ),
    "ubuntu-blackwell-forced-proprietary": driver(
        "ubuntu-2204-hwe-rtx5090", nvidia_driver_kernel_modules="proprietary"
    ),
    "ubuntu-pascal-forced-open": driver("ubuntu-2404-gcp-p100", nvidia_driver_kernel_modules="open"),
    # No driver: Debian.
    "debian-12-ampere": driver("debian-12-a100"),
    "debian-12-mirror": driver(
        "debian-12-a100", nvidia_driver_cuda_repository_mirror="https://mirrors.example.cn/nvidia-cuda/"
    ),
    "debian-12-secure-boot": driver("debian-12-a100-secure-boot"),
    "debian-13-volta-cu129": driver("debian-13-v100", **CU129),
    # Installed, but not working; rebooting allowed or not.
    "not-loaded": driver("ubuntu-2404-l4-not-loaded"),
    "not-loaded-after-a-run-without-reboot": driver(
        "ubuntu-2404-l4-not-loaded", marker=A_MARKER_LEFT_BY_AN_EARLIER_RUN
    ),
    "not-loaded-reboot-allowed": driver(
        "ubuntu-2404-l4-not-loaded", marker=A_MARKER_LEFT_BY_AN_EARLIER_RUN, nvidia_driver_reboot=True
    ),
    "version-mismatch": driver("ubuntu-2404-l4-mismatch"),
    # The toolkit.
    "toolkit-no-gpu": toolkit("cpu-only-vm"),
    "toolkit-rehearsal-profile": toolkit("a10g-580", groups=REHEARSAL_GROUPS),
    "toolkit-ubuntu": toolkit("a10g-580"),
    "toolkit-debian-fresh": toolkit("debian-12-a100"),
    "toolkit-wsl": toolkit("wsl2-rtx4070"),
    "toolkit-mirror": toolkit(
        "a10g-580", nvidia_container_toolkit_repository_url="https://mirrors.ustc.edu.cn/libnvidia-container/stable/deb"
    ),
    "toolkit-cgroupfs": toolkit("a10g-580", nvidia_container_toolkit_cdi=False, nvidia_container_toolkit_cgroupfs=True),
    "toolkit-neither-cdi-nor-cgroupfs": toolkit("a10g-580", nvidia_container_toolkit_cdi=False),
    "toolkit-cdi-on-debian-12-docker-io": toolkit("debian-12-a100", docker_engine_source="distribution"),
    "toolkit-cloud-image-daemon-json": toolkit("a10g-580", daemon_json=CLOUD_IMAGE_DAEMON_JSON),
    "toolkit-keeps-default-runtime": toolkit(
        "a10g-580", daemon_json=CLOUD_IMAGE_DAEMON_JSON, nvidia_container_toolkit_default_runtime=True
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> CaseRunner:
    runner = CaseRunner(tmp_path_factory.mktemp("gpu-decisions"))
    runner.register(CASES)
    return runner


def plan_of(runs: CaseRunner, name: str, fact: str = "nvidia_driver_plan") -> dict:
    run = runs.result(name)
    decided = [r for r in run.results if r.host == name and fact in r.result.get("ansible_facts", {})]
    assert decided, f"{name}: no task set {fact}\n{run.explain(name)}"
    return decided[-1].result["ansible_facts"][fact]


def succeeded(runs: CaseRunner, name: str) -> list[str]:
    """The run passed for this host; its messages."""
    run = runs.result(name)
    assert run.succeeded(name), run.explain(name)
    assert not run.changed_tasks(name), run.explain(name)
    return run.messages(name)


def refused(runs: CaseRunner, name: str) -> str:
    """The run stopped for this host with one message; that message."""
    return runs.result(name).refusal(name)


def said(messages: list[str], *words: str) -> bool:
    return any(all(word in message for word in words) for message in messages)


# ---- nvidia_driver: nothing to do ----------------------------------------------------------------------------------

SKIPS = {
    "no-gpu": "Skipping the NVIDIA driver: no NVIDIA GPU on this host",
    "rehearsal-profile": "Skipping the NVIDIA driver: nvidia_driver_enabled is false in the inventory",
    "wsl": "Skipping the NVIDIA driver: this is WSL: the NVIDIA driver comes from Windows and must never be installed",
}


@pytest.mark.parametrize("name", sorted(SKIPS))
def test_the_driver_role_skips_saying_why(runs, name):
    messages = succeeded(runs, name)
    assert said(messages, SKIPS[name]), messages
    assert plan_of(runs, name)["action"] == "skip"


# ---- nvidia_driver: a working driver -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("keep-580", ["Keeping NVIDIA driver 580.95.05 (CUDA 13.0) on NVIDIA A10G", f"runs {IMAGE}."]),
        ("keep-590", ["Keeping NVIDIA driver 590.44.01 (CUDA 13.1) on NVIDIA L40S"]),
        ("keep-580-65", [f"Keeping NVIDIA driver {PINS['hymt_vllm_cuda_driver_min']} (CUDA 13.0) on NVIDIA A10G"]),
        # The role decides about the driver; preflight refuses the Volta host itself (tests/ansible/test_preflight.py).
        ("volta-cuda13-image", ["Keeping NVIDIA driver 580.105.08", f"runs {IMAGE}."]),
        # The -cu129 image admits datacenter branches 535..570 on datacenter GPUs.
        (
            "old-570-datacenter-cu129",
            ["Keeping NVIDIA driver 570.133.20", "8x NVIDIA H100 80GB HBM3", f"{IMAGE}-cu129"],
        ),
        ("old-535-datacenter-cu129", ["Keeping NVIDIA driver 535.274.02 (CUDA 12.2) on Tesla T4", f"{IMAGE}-cu129"]),
        # A GeForce needs CUDA 12.9 itself: 575 has it.
        ("old-575-geforce-cu129", ["Keeping NVIDIA driver 575.64.05 (CUDA 12.9)", f"{IMAGE}-cu129"]),
        ("volta-cu129", ["Keeping NVIDIA driver 580.105.08", f"{IMAGE}-cu129"]),
    ],
)
def test_a_driver_that_runs_the_image_is_kept(runs, name, words):
    messages = succeeded(runs, name)
    assert said(messages, *words), messages
    assert plan_of(runs, name)["action"] == "keep"


def test_a_driver_kept_for_cu129_that_also_runs_the_plain_image_says_so(runs):
    assert said(succeeded(runs, "volta-cu129"), "Note: This driver also runs the plain CUDA 13 image")


def test_opting_in_to_cu129_is_noted_as_unverified_and_smoke_tested(runs):
    notes = succeeded(runs, "old-535-datacenter-cu129")
    assert said(notes, 'Note: hymt_vllm_image_variant is "-cu129"', "not verified", "smoke-tests it on the host")
    assert not said(succeeded(runs, "keep-580"), "-cu129")


def test_volta_gets_the_note_that_vllm_will_not_run_there(runs):
    assert said(succeeded(runs, "volta-cuda13-image"), "Note:", "Volta GPUs have a compute capability below 7.5")


OLD_DRIVER_ADVICE = {
    "old-570-datacenter": [
        "has NVIDIA driver 570.133.20 (CUDA 12.8) on 8x NVIDIA H100 80GB HBM3",
        f"needs driver >= {PINS['hymt_vllm_cuda_driver_min']} (CUDA 13)",
        "unsatisfied condition: cuda>=",
        f"install driver branch {BRANCH} over it: set nvidia_driver_upgrade: true",
    ],
    "old-535-datacenter": [f"install driver branch {BRANCH} over it", "would start with driver 535.274.02"],
    "old-575-geforce": [f"install driver branch {BRANCH} over it", "would start with driver 575.64.05"],
    # One patch release below CUDA 13.0's minimum.
    "below-580-65": [
        "has NVIDIA driver 580.65.05",
        f"needs driver >= {PINS['hymt_vllm_cuda_driver_min']} (CUDA 13)",
        f"install driver branch {BRANCH} over it",
    ],
}


@pytest.mark.parametrize("name", sorted(OLD_DRIVER_ADVICE))
def test_an_old_driver_stops_the_run_offering_the_upgrade_first(runs, name):
    message = refused(runs, name)
    for words in OLD_DRIVER_ADVICE[name]:
        assert words in message, f"{words!r} is not in: {message}"
    # The upgrade is the way out; the -cu129 image only an unverified opt-in, after it, never an instruction.
    upgrade = message.index("set nvidia_driver_upgrade: true")
    assert 'set hymt_vllm_image_variant: "-cu129"' not in message
    if "-cu129" in message:
        assert message.index("-cu129") > upgrade
        assert "has not verified it" in message


def test_an_old_geforce_driver_the_cu129_image_refuses_is_told_to_upgrade_only(runs):
    message = refused(runs, "old-550-geforce-cu129")
    assert "550.163.01 (CUDA 12.4) on NVIDIA GeForce RTX 4090" in message
    assert f"{IMAGE}-cu129 needs CUDA 12.9 (driver >= {PINS['hymt_vllm_cu129_driver_min']})" in message
    assert f"install driver branch {BRANCH} over it" in message
    assert "keep this driver" not in message


def test_an_old_driver_is_upgraded_when_the_inventory_says_so(runs):
    plan = plan_of(runs, "old-570-datacenter-upgrade")
    assert plan["action"] == "install"
    assert plan["driver_packages"] == [f"nvidia-driver-{BRANCH}-server-open"]
    assert said(succeeded(runs, "old-570-datacenter-upgrade"), "Note: Upgrading NVIDIA driver 570.133.20")


# ---- nvidia_driver: installing on Ubuntu ---------------------------------------------------------------------------

UBUNTU_INSTALLS = {
    # name: (kernel modules, flavour metapackage, the running kernel)
    "ubuntu-aws-ada": ("open", "aws", "6.8.0-1021-aws"),
    "ubuntu-hwe-blackwell": ("open", "generic-hwe-22.04", "6.8.0-60-generic"),
    "ubuntu-ga-turing": ("open", "generic", "5.15.0-139-generic"),
    "ubuntu-gcp-pascal-p100": ("proprietary", "gcp", "6.8.0-1033-gcp"),
    "ubuntu-pascal-gtx1080": ("proprietary", "generic", "5.15.0-139-generic"),
    "ubuntu-turing-and-pascal": ("proprietary", "aws", "6.8.0-1021-aws"),
    "ubuntu-hgx-nvswitch": ("open", "generic", "5.15.0-139-generic"),
    "ubuntu-unknown-architecture-forced-proprietary": ("proprietary", "aws", "6.8.0-1021-aws"),
    "not-loaded": ("open", "aws", "6.8.0-1021-aws"),
}


@pytest.mark.parametrize("name", sorted(UBUNTU_INSTALLS))
def test_ubuntu_gets_canonicals_server_driver_with_signed_modules_for_its_kernel(runs, name):
    modules, flavour, kernel = UBUNTU_INSTALLS[name]
    flavoured = f"{BRANCH}-server{'-open' if modules == 'open' else ''}"
    plan = plan_of(runs, name)
    assert plan["action"] == "install"
    assert plan["kernel_modules"] == modules
    # The modules first (so apt never reaches for DKMS), the driver after them.
    assert plan["module_packages"] == [
        f"linux-modules-nvidia-{flavoured}-{flavour}",
        f"linux-modules-nvidia-{flavoured}-{kernel}",
    ]
    assert plan["driver_packages"] == [f"nvidia-driver-{flavoured}"]
    assert plan["packages"] == plan["module_packages"] + plan["driver_packages"]
    assert said(
        succeeded(runs, name),
        f"Installing NVIDIA driver branch {BRANCH} ({modules} kernel modules)",
        "Canonical's archive",
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("ubuntu-gcp-pascal-p100", ["Note: Proprietary kernel modules: Pascal GPUs cannot use the open ones."]),
        ("ubuntu-gcp-pascal-p100", ["Note:", "Pascal GPUs have a compute capability below 7.5", "vLLM will not run"]),
        ("ubuntu-turing-and-pascal", ["Note: Proprietary kernel modules: Pascal GPUs"]),
        ("ubuntu-hgx-nvswitch", ["Note:", "has 4 NVSwitches", f"nvidia-fabricmanager-{BRANCH}", "does not install it"]),
        (
            "not-loaded",
            ["nvidia-smi said: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver"],
        ),
    ],
)
def test_the_driver_role_says_what_the_user_must_know(runs, name, words):
    assert said(succeeded(runs, name), *words), runs.result(name).explain(name)


GPU_REFUSALS = {
    "ubuntu-kepler": ["Kepler GPUs, which driver branch 580 does not support", "the last branch for them is 470"],
    "ubuntu-unknown-architecture": ["architecture of 0a20 is unknown", "nvidia_driver_kernel_modules to open"],
    "ubuntu-blackwell-forced-proprietary": ["nvidia_driver_kernel_modules is proprietary", "Blackwell GPUs"],
    "ubuntu-pascal-forced-open": ["nvidia_driver_kernel_modules is open", "Pascal GPUs"],
}


@pytest.mark.parametrize("name", sorted(GPU_REFUSALS))
def test_gpus_the_branch_or_chosen_modules_cannot_drive_stop_the_run(runs, name):
    message = refused(runs, name)
    for words in GPU_REFUSALS[name]:
        assert words in message, f"{words!r} is not in: {message}"


# ---- nvidia_driver: installing on Debian ---------------------------------------------------------------------------

NVIDIA_CUDA_REPOS = "https://developer.download.nvidia.com/compute/cuda/repos"


@pytest.mark.parametrize(
    ("name", "repository", "driver", "headers"),
    [
        (
            "debian-12-ampere",
            f"{NVIDIA_CUDA_REPOS}/debian12/x86_64",
            "nvidia-open",
            ["linux-headers-6.1.0-37-cloud-amd64", "linux-headers-cloud-amd64"],
        ),
        (
            "debian-12-mirror",
            "https://mirrors.example.cn/nvidia-cuda/debian12/x86_64",
            "nvidia-open",
            ["linux-headers-6.1.0-37-cloud-amd64", "linux-headers-cloud-amd64"],
        ),
        (
            "debian-13-volta-cu129",
            f"{NVIDIA_CUDA_REPOS}/debian13/x86_64",
            "cuda-drivers",
            ["linux-headers-6.12.38+deb13-amd64", "linux-headers-amd64"],
        ),
    ],
)
def test_debian_gets_the_driver_from_nvidias_cuda_repository(runs, name, repository, driver, headers):
    plan = plan_of(runs, name)
    assert plan["action"] == "install"
    assert plan["repository_url"] == repository
    assert plan["keyring_url"] == f"{repository}/cuda-keyring_{PINS['hymt_cuda_keyring_version']}_all.deb"
    assert plan["header_packages"] == headers
    assert plan["pinning_packages"] == [f"nvidia-driver-pinning-{BRANCH}"]
    assert plan["driver_packages"] == [driver]
    assert said(succeeded(runs, name), f"Installing NVIDIA driver branch {BRANCH}", "NVIDIA's CUDA repository")
    # Debian's contrib component, which NVIDIA's Debian instructions enable, from the distribution's archive.
    codename = {"debian-12-ampere": "bookworm", "debian-12-mirror": "bookworm", "debian-13-volta-cu129": "trixie"}[name]
    assert plan["contrib_source"] == {
        "uris": ["http://deb.debian.org/debian"],
        "suites": [codename, f"{codename}-updates"],
        "components": ["contrib"],
        "signed_by": "/usr/share/keyrings/debian-archive-keyring.gpg",
    }


def test_contrib_is_enabled_on_debian_gpu_hosts_only(runs):
    assert "contrib_source" not in plan_of(runs, "ubuntu-aws-ada")
    assert plan_of(runs, "debian-12-mirror")["contrib_source"]["components"] == ["contrib"]


def test_secure_boot_on_debian_warns_about_dkms_signing(runs):
    assert said(succeeded(runs, "debian-12-secure-boot"), "Note: Secure Boot is on", "mokutil --import")
    assert not said(succeeded(runs, "debian-12-ampere"), "Secure Boot")


# ---- nvidia_driver: reboots ----------------------------------------------------------------------------------------


def test_an_installed_driver_that_does_not_load_is_installed_again_not_rebooted_blindly(runs):
    plan = plan_of(runs, "not-loaded")
    # Nothing says a reboot is due: the role makes sure of the packages and reboots only if they changed.
    assert plan["action"] == "install"
    assert plan["reboot_allowed"] is False


@pytest.mark.parametrize("name", ["not-loaded-after-a-run-without-reboot", "version-mismatch"])
def test_a_due_reboot_is_recognised(runs, name):
    plan = plan_of(runs, name)
    assert plan["action"] == "reboot"
    assert plan["reboot_allowed"] is False
    assert "nvidia_driver_reboot does not allow" in plan["reboot_advice"]
    assert "sudo reboot" in plan["reboot_advice"]
    assert said(succeeded(runs, name), "needs a reboot")


def test_a_due_reboot_happens_when_the_inventory_allows_it(runs):
    plan = plan_of(runs, "not-loaded-reboot-allowed")
    assert plan["action"] == "reboot"
    assert plan["reboot_allowed"] is True


# ---- nvidia_container_toolkit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("toolkit-no-gpu", "Skipping the NVIDIA Container Toolkit: no NVIDIA GPU on this host"),
        (
            "toolkit-rehearsal-profile",
            "Skipping the NVIDIA Container Toolkit: nvidia_container_toolkit_enabled is false",
        ),
    ],
)
def test_the_toolkit_skips_saying_why_and_contributes_nothing(runs, name, reason):
    assert said(succeeded(runs, name), reason)
    plan = plan_of(runs, name, "nvidia_container_toolkit_plan")
    assert (plan["docker_runtimes"], plan["docker_options"]) == ({}, {})


@pytest.mark.parametrize("name", ["toolkit-ubuntu", "toolkit-debian-fresh", "toolkit-wsl"])
def test_the_toolkit_comes_pinned_from_nvidias_repository(runs, name):
    plan = plan_of(runs, name, "nvidia_container_toolkit_plan")
    assert plan["action"] == "install"
    assert plan["repository"] == {
        "uris": ["https://nvidia.github.io/libnvidia-container/stable/deb/amd64/"],
        "suites": ["/"],
        "signed_by": "https://nvidia.github.io/libnvidia-container/gpgkey",
    }
    assert plan["packages"] == [
        f"nvidia-container-toolkit={TOOLKIT}-1",
        f"nvidia-container-toolkit-base={TOOLKIT}-1",
        f"libnvidia-container-tools={TOOLKIT}-1",
        f"libnvidia-container1={TOOLKIT}-1",
    ]
    assert sorted(path.rsplit("/", 1)[-1] for path in plan["stale_lists"]) == [
        "libnvidia-container.list",
        "nvidia-container-runtime.list",
        "nvidia-container-toolkit.list",
        "nvidia-docker.list",
    ]
    # What the docker role is handed for daemon.json: the runtime and CDI.
    assert plan["docker_runtimes"] == {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}
    assert plan["docker_options"] == {"features": {"cdi": True}}
    assert plan["verify_image"] == PINS["hymt_cuda_base_images"][""]
    assert said(succeeded(runs, name), f"Installing the NVIDIA Container Toolkit {TOOLKIT}", '"cdi": true')


def test_the_toolkit_repository_follows_the_mirror(runs):
    plan = plan_of(runs, "toolkit-mirror", "nvidia_container_toolkit_plan")
    assert plan["repository"]["uris"] == ["https://mirrors.ustc.edu.cn/libnvidia-container/stable/deb/amd64/"]


def test_without_cdi_the_cgroupfs_driver_keeps_containers_gpus(runs):
    plan = plan_of(runs, "toolkit-cgroupfs", "nvidia_container_toolkit_plan")
    assert plan["docker_options"] == {"exec-opts": ["native.cgroupdriver=cgroupfs"]}


def test_without_either_the_user_is_warned_about_lost_gpus(runs):
    assert said(
        succeeded(runs, "toolkit-neither-cdi-nor-cgroupfs"), "Note:", "Failed to initialize NVML: Unknown Error"
    )
    assert plan_of(runs, "toolkit-neither-cdi-nor-cgroupfs", "nvidia_container_toolkit_plan")["docker_options"] == {}


def test_cdi_on_an_engine_without_it_stops_with_the_alternatives(runs):
    message = refused(runs, "toolkit-cdi-on-debian-12-docker-io")
    for words in [
        "Docker engine",
        "is 20.x",
        "learned CDI in 25.0",
        "docker_engine_source: ce",
        "nvidia_container_toolkit_cgroupfs: true",
    ]:
        assert words in message, f"{words!r} is not in: {message}"


def test_what_a_cloud_images_daemon_json_would_lose_is_said(runs):
    messages = succeeded(runs, "toolkit-cloud-image-daemon-json")
    assert said(messages, "makes nvidia the default runtime", "nvidia_container_toolkit_default_runtime: true")
    assert said(messages, '"storage-driver"', "docker_daemon_extra_options")
    kept = plan_of(runs, "toolkit-keeps-default-runtime", "nvidia_container_toolkit_plan")
    assert kept["docker_options"]["default-runtime"] == "nvidia"
    assert not said(succeeded(runs, "toolkit-keeps-default-runtime"), "makes nvidia the default runtime")


def test_every_case_is_checked():
    checked = (
        set(SKIPS)
        | set(OLD_DRIVER_ADVICE)
        | set(UBUNTU_INSTALLS)
        | set(GPU_REFUSALS)
        | {
            "keep-580",
            "keep-590",
            "keep-580-65",
            "old-570-datacenter-cu129",
            "old-535-datacenter-cu129",
            "old-575-geforce-cu129",
            "volta-cu129",
            "old-550-geforce-cu129",
            "old-570-datacenter-upgrade",
            "volta-cuda13-image",
            "debian-12-ampere",
            "debian-12-mirror",
            "debian-12-secure-boot",
            "debian-13-volta-cu129",
            "not-loaded-after-a-run-without-reboot",
            "not-loaded-reboot-allowed",
            "version-mismatch",
        }
        | {name for name in CASES if name.startswith("toolkit-")}
    )
    assert set(CASES) == checked, set(CASES) ^ checked
    # The transcribed daemon.json is valid JSON (a typo there would make the case test nothing).
    json.loads((DATA / "daemon-json-gpu-cloud-image.json").read_text())
