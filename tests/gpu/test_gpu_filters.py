"""The GPU paths' parsers and advice, on transcribed outputs of real machine types (tests/gpu/data/).

The preflight role's GPU facts (architecture from the PCI id, NVSwitches, nvidia-smi's state, Secure Boot), the
nvidia_driver role's package and version arithmetic, and the nvidia_container_toolkit role's advice for the errors a
GPU container gives.
"""

from __future__ import annotations

import base64

import pytest

from hymt import hostfacts
from hymt.provision import docker_daemon as docker
from hymt.provision import nvidia_container_toolkit as toolkit
from hymt.provision import nvidia_driver as driver
from hymt.provision import preflight
from tests.gpu.machines import MACHINES, NO_NVIDIA_SMI, transcribed

# ---- preflight: GPUs on the PCI bus ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lspci", "expected"),
    [
        ("lspci-a10g-cloud-vm.txt", [("2237", "Ampere", "8.0")]),
        ("lspci-rtx4090-workstation.txt", [("2684", "Ada Lovelace", "8.9")]),
        ("lspci-l4-aws-g6.txt", [("27b8", "Ada Lovelace", "8.9")]),
        ("lspci-t4-gcp.txt", [("1eb8", "Turing", "7.5")]),
        ("lspci-p100-gcp.txt", [("15f8", "Pascal", "6.0")]),
        ("lspci-v100-aws-p3.txt", [("1db1", "Volta", "7.0")]),
        ("lspci-gtx1080-workstation.txt", [("1b80", "Pascal", "6.0")]),
        ("lspci-k80-azure-nc6.txt", [("102d", "Kepler", "3.0")]),
        ("lspci-rtx5090-workstation.txt", [("2b85", "Blackwell", "10.0")]),
        ("lspci-a100-debian-server.txt", [("20b5", "Ampere", "8.0")]),
        ("lspci-rtx2080ti-gtx1080-workstation.txt", [("1e07", "Turing", "7.5"), ("1b80", "Pascal", "6.0")]),
        ("lspci-gt220-desktop.txt", [("0a20", "unknown", "")]),
    ],
)
def test_each_gpu_gets_its_architecture_from_its_pci_id(lspci, expected):
    gpus = hostfacts.nvidia_gpus_from_lspci(transcribed(lspci))
    assert [(gpu["device_id"], gpu["architecture"], gpu["compute_capability"]) for gpu in gpus] == expected


def test_an_hgx_board_shows_eight_gpus_and_four_nvswitches_that_are_not_gpus():
    output = transcribed("lspci-8xh100-hgx.txt")
    gpus = hostfacts.nvidia_gpus_from_lspci(output)
    assert len(gpus) == 8
    assert {gpu["architecture"] for gpu in gpus} == {"Hopper"}
    assert hostfacts.nvidia_nvswitch_count(output) == 4
    assert hostfacts.nvidia_nvswitch_count(transcribed("lspci-a10g-cloud-vm.txt")) == 0


def test_wsl_shows_no_nvidia_device_on_the_pci_bus():
    assert hostfacts.nvidia_gpus_from_lspci(transcribed("lspci-wsl2.txt")) == []


def test_sysfs_listings_get_architectures_too():
    listing = "\n".join(
        [
            "/sys/bus/pci/devices/0000:00:1e.0/vendor:0x10de",
            "/sys/bus/pci/devices/0000:00:1e.0/class:0x030200",
            "/sys/bus/pci/devices/0000:00:1e.0/device:0x27b8",
        ]
    )
    assert hostfacts.nvidia_gpus_from_sysfs(listing)[0]["architecture"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("device_id", "architecture"),
    [("13f2", "Maxwell"), ("17fd", "Maxwell"), ("1df6", "Volta"), ("2182", "Turing"), ("20b0", "Ampere"),
     ("2330", "Hopper"), ("2335", "Hopper"), ("26b9", "Ada Lovelace"), ("2901", "Blackwell"), ("zzzz", "unknown")],
)  # fmt: skip
def test_datacenter_ids_by_generation(device_id, architecture):
    # M60, M40, V100S, GTX 1660 Ti (TU116), A100, H100 SXM, H200, L40S, B200.
    assert hostfacts.nvidia_architecture(device_id) == architecture


# ---- preflight: what nvidia-smi's answer says about the driver -----------------------------------------------------


@pytest.mark.parametrize(
    ("result", "state"),
    [
        ({"rc": 0, "stdout": transcribed("nvidia-smi-query-a10g.csv"), "stderr": ""}, "working"),
        (NO_NVIDIA_SMI, "absent"),
        ({"rc": 9, "stdout": transcribed("nvidia-smi-not-loaded.txt"), "stderr": ""}, "not-loaded"),
        ({"rc": 18, "stdout": transcribed("nvidia-smi-version-mismatch.txt"), "stderr": ""}, "mismatch"),
        ({"rc": 255, "stdout": "Unable to determine the device handle for GPU0000:00:1E.0: Unknown Error"}, "failing"),
    ],
)
def test_nvidia_smis_state(result, state):
    found = hostfacts.nvidia_smi_state(result)
    assert found["state"] == state
    assert bool(found["error"]) == (state not in ("working", "absent"))


def test_secure_boot_is_read_from_the_efi_variable():
    def efivar(value: int) -> str:
        # Four bytes of attributes (non-volatile, boot service and runtime access), then the value.
        return base64.b64encode(bytes([0x06, 0x00, 0x00, 0x00, value])).decode()

    assert preflight.secure_boot_enabled(efivar(1))
    assert not preflight.secure_boot_enabled(efivar(0))
    assert not preflight.secure_boot_enabled("")


def test_the_kernel_release_of_each_transcribed_machine():
    assert MACHINES["ubuntu-2404-aws-l4"].kernel_release == "6.8.0-1021-aws"
    assert MACHINES["debian-13-v100"].kernel_release == "6.12.38+deb13-amd64"
    assert MACHINES["wsl2-rtx4070"].facts()["preflight_is_wsl"]


# ---- nvidia_driver: versions and packages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        ("580.95.05", "580.95.05", True),
        ("580.105.08", "580.95.05", True),  # compared as numbers, not as text
        ("580.82.07", "580.95.05", False),
        ("590.44.01", "580.95.05", True),
        ("", "580.95.05", False),
    ],
)
def test_driver_versions_compare_numerically(version, minimum, expected):
    assert hostfacts.version_at_least(version, minimum) is expected


@pytest.mark.parametrize(
    ("kernel", "release", "packages", "flavour"),
    [
        ("6.8.0-1021-aws", "24.04", ["P-aws", "P-6.8.0-1021-aws"], "aws"),
        ("6.8.0-1033-gcp", "24.04", ["P-gcp", "P-6.8.0-1033-gcp"], "gcp"),
        ("6.8.0-1017-azure", "22.04", ["P-azure", "P-6.8.0-1017-azure"], "azure"),
        ("6.8.0-1013-nvidia", "22.04", ["P-nvidia", "P-6.8.0-1013-nvidia"], "nvidia"),
        ("6.8.0-45-generic", "24.04", ["P-generic", "P-6.8.0-45-generic"], "generic"),
        ("6.14.0-29-generic", "24.04", ["P-generic-hwe-24.04", "P-6.14.0-29-generic"], "generic-hwe-24.04"),
        ("6.8.0-60-generic", "22.04", ["P-generic-hwe-22.04", "P-6.8.0-60-generic"], "generic-hwe-22.04"),
        ("5.15.0-139-generic", "22.04", ["P-generic", "P-5.15.0-139-generic"], "generic"),
        ("6.8.0-40-lowlatency", "24.04", ["P-lowlatency", "P-6.8.0-40-lowlatency"], "lowlatency"),
        ("6.9.3-custom", "24.04", [], ""),
    ],
)
def test_ubuntus_module_packages_follow_the_running_kernel(kernel, release, packages, flavour):
    ga_kernels = {"22.04": "5.15", "24.04": "6.8"}
    assert driver.ubuntu_module_packages(kernel, release, "P", ga_kernels) == (packages, flavour)


def test_an_unrecognised_ubuntu_kernel_stops_the_install_saying_why():
    facts = {
        "inventory_hostname": "gpu-1",
        "distribution": "Ubuntu",
        "release": "24.04",
        "kernel_release": "6.9.3-custom",
        "pci_gpus": [{"name": "AD104GL [L4]", "device_id": "27b8", "architecture": "Ada Lovelace"}],
        "gpus": [],
        "nvidia_smi_state": "absent",
    }
    settings = {
        "branch": "580",
        "image": "example/vllm:test",
        "cuda13_driver_min": "580.95.05",
        "cu129_driver_min": "575.51.03",
        "cu129_datacenter_branches": ["570"],
        "ubuntu_ga_kernels": {"24.04": "6.8"},
    }
    plan = driver.driver_plan(facts, settings)
    assert plan["action"] == "stop"
    assert "kernel 6.9.3-custom, whose flavour this role cannot tell" in plan["message"]


@pytest.mark.parametrize(
    ("kernel", "headers"),
    [
        ("6.1.0-37-cloud-amd64", ["linux-headers-6.1.0-37-cloud-amd64", "linux-headers-cloud-amd64"]),
        ("6.1.0-37-amd64", ["linux-headers-6.1.0-37-amd64", "linux-headers-amd64"]),
        ("6.12.38+deb13-amd64", ["linux-headers-6.12.38+deb13-amd64", "linux-headers-amd64"]),
        ("6.12.38+deb13-cloud-amd64", ["linux-headers-6.12.38+deb13-cloud-amd64", "linux-headers-cloud-amd64"]),
    ],
)
def test_debians_headers_follow_the_running_kernel(kernel, headers):
    assert driver.debian_header_packages(kernel) == headers


@pytest.mark.parametrize(
    ("driver_version", "cuda", "gpu", "works"),
    [
        ("575.64.05", "12.9", "NVIDIA GeForce RTX 4090", True),  # CUDA 12.9 itself
        ("570.133.20", "12.8", "NVIDIA H100 80GB HBM3", True),  # a datacenter branch the image lists
        ("535.274.02", "12.2", "Tesla T4", True),
        ("570.133.20", "12.8", "NVIDIA GeForce RTX 4090", False),  # not on GeForce
        ("570.133.20", "12.8", "NVIDIA TITAN RTX", False),
        ("555.42.06", "12.5", "NVIDIA A10G", False),  # a branch the image does not list
    ],
)
def test_which_drivers_start_the_cu129_image(driver_version, cuda, gpu, works):
    settings = {"cu129_driver_min": "575.51.03", "cu129_datacenter_branches": ["535", "550", "560", "565", "570"]}
    assert driver.cu129_works(driver_version, cuda, [gpu], settings) is works


def test_advice_when_the_installed_driver_does_not_answer():
    not_loaded = transcribed("nvidia-smi-not-loaded.txt")
    ubuntu = driver.driver_failure_advice(not_loaded, {"distribution": "Ubuntu", "kernel_release": "6.8.0-1021-aws"})
    assert "sudo modprobe nvidia" in ubuntu and "linux-modules-nvidia-*-$(uname -r)" in ubuntu
    debian = driver.driver_failure_advice(not_loaded, {"distribution": "Debian", "secure_boot": True})
    assert "dkms status" in debian and "mokutil --import" in debian
    assert "reboot" in driver.driver_failure_advice(transcribed("nvidia-smi-version-mismatch.txt"), {})


# ---- nvidia_container_toolkit: advice for a container that does not see the GPUs ----------------------------------

ADVICE = {
    "docker-run-no-device-driver.txt": ["NVIDIA Container Toolkit is missing", "not restarted", "snap"],
    "docker-run-unsatisfied-cuda.txt": ["needs CUDA 13.0", "575.64.05", "nvidia_driver_upgrade: true", "unverified"],
    "docker-run-nvml-unknown-error.txt": ["Recreate the container", "nvidia_container_toolkit_cdi: true", "cgroupfs"],
    "docker-run-unknown-runtime.txt": ["no 'nvidia' runtime", "nvidia_container_toolkit_docker_runtimes"],
    "docker-run-cdi-unresolvable.txt": ["nvidia-ctk cdi generate --output=/var/run/cdi/nvidia.yaml", "cdi list"],
    "docker-run-driver-not-loaded.txt": ["kernel module is not loaded", "Secure Boot"],
    "docker-run-pull-failed.txt": ["could not pull nvidia/cuda:13.0.2-base-ubuntu24.04", "docker save"],
}


def test_an_opted_in_image_that_crashes_at_start_sends_the_user_back_to_the_plain_image():
    crash = "Traceback (most recent call last):\n  ...\nImportError: libcudart.so.13: cannot open shared object file"
    advice = toolkit.smoke_test_advice(crash, {"image": "vllm/vllm-openai:v0.32.0-cu129"})
    assert "vllm/vllm-openai:v0.32.0-cu129 does not start on this host" in advice
    assert 'hymt_vllm_image_variant: "" and nvidia_driver_upgrade: true' in advice
    # A container error it knows keeps its own advice.
    refused = toolkit.smoke_test_advice(transcribed("docker-run-unsatisfied-cuda.txt"), {"image": "x"})
    assert refused.startswith("The driver is too old for x")


@pytest.mark.parametrize(
    ("lspci", "refused"),
    [
        ("lspci-v100-aws-p3.txt", ["Volta"]),
        ("lspci-p100-gcp.txt", ["Pascal"]),
        ("lspci-k80-azure-nc6.txt", ["Kepler"]),
        ("lspci-rtx2080ti-gtx1080-workstation.txt", ["Pascal"]),  # the Turing card is fine, the Pascal one is not
        ("lspci-t4-gcp.txt", []),
        ("lspci-l4-aws-g6.txt", []),
        ("lspci-gt220-desktop.txt", []),  # unknown to the table: not judged (the driver role asks)
    ],
)
def test_gpus_below_vllms_minimum_are_found_on_the_pci_bus(lspci, refused):
    gpus = hostfacts.nvidia_gpus_from_lspci(transcribed(lspci))
    below = hostfacts.gpus_vllm_cannot_run(gpus)
    assert [gpu["architecture"] for gpu in below] == refused
    message = preflight.unsupported_gpus_message(gpus, "gpu-1")
    assert bool(message) == bool(refused)
    if refused:
        assert message.startswith("gpu-1 has GPUs vLLM cannot run on") and hostfacts.VLLM_MIN_CAPABILITY in message


@pytest.mark.parametrize("output", sorted(ADVICE))
def test_each_stock_error_gets_its_advice(output):
    context = {"image": "nvidia/cuda:13.0.2-base-ubuntu24.04", "driver_version": "575.64.05"}
    advice = toolkit.container_advice(transcribed(output), context)
    for words in ADVICE[output]:
        assert words in advice, f"{words!r} is not in: {advice}"


def test_the_engine_version_is_read_from_dockerd():
    assert hostfacts.engine_major_version("Docker version 20.10.24+dfsg1, build 297e128") == 20
    assert hostfacts.engine_major_version("Docker version 29.7.2, build 1a2b3c4") == 29
    assert hostfacts.engine_major_version("") == 0


def test_options_the_toolkit_contributes_reach_daemon_json_before_the_users_extra_options():
    base = {"log-driver": "json-file", "features": {"buildkit": True}}
    config = docker.daemon_config(
        base,
        runtimes_from_roles={"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}},
        options_from_roles={"features": {"cdi": True}, "exec-opts": ["native.cgroupdriver=cgroupfs"]},
        extra_options={"exec-opts": ["native.cgroupdriver=systemd"]},
    )
    assert config["features"] == {"buildkit": True, "cdi": True}
    assert config["exec-opts"] == ["native.cgroupdriver=systemd"]  # the user's own setting wins
    assert config["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
    assert docker.daemon_config_problems(config) == []


def test_an_existing_daemon_json_is_read_even_when_broken():
    def slurped(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    cloud_image = slurped(transcribed("daemon-json-gpu-cloud-image.json"))
    assert toolkit.read_daemon_json(cloud_image)["default-runtime"] == "nvidia"
    assert toolkit.read_daemon_json(slurped('{"log-driver": "json-file",}')) == {"invalid": True}
    assert toolkit.read_daemon_json(slurped("[]")) == {"invalid": True}
    assert toolkit.read_daemon_json("") == {}
    plan = toolkit.toolkit_plan(
        {"gpus": [{"name": "NVIDIA A10G"}], "daemon_json": {"invalid": True}},
        {"version": "1", "repository_url": "https://r", "key_url": "https://k", "cdi": True, "docker_major": 29},
    )
    assert any("is not a JSON object" in note for note in plan["notes"])
