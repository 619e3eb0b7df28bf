"""nvidia-smi's outputs as `hymt verify` reads them, and its verdict on the driver against the pinned vLLM image, on
the outputs in tests/gpu/data and tests/ansible/data (transcribed from documentation and public reports, not captured:
see their README). The parsers and rules are the roles' (hymt.hostfacts, hymt.provision.nvidia_driver); these tests
show verify reaches the same answers through them."""

from __future__ import annotations

import pytest

from hymt.hostfacts import gpus_vllm_cannot_run, nvidia_cuda_version, nvidia_gpus_from_nvidia_smi
from hymt.provision.nvidia_driver import driver_plan, nvidia_smi_advice
from hymt.verify.gpu import judge_driver
from hymt.verify.result import CheckFailed
from tests.gpu.machines import MACHINES, driver_facts
from tests.support.repo import PINS as VERSIONS
from tests.verify.hosts import PINS, data


def machine(name: str) -> tuple[list[dict], str]:
    return nvidia_gpus_from_nvidia_smi(data(f"nvidia-smi-query-{name}.csv")), nvidia_cuda_version(
        data(f"nvidia-smi-{name}.txt")
    )


def driver_verdict(gpus: list[dict], cuda: str, image: str) -> tuple[bool, str]:
    """The driver check's verdict: (passes, what it says)."""
    try:
        return True, judge_driver("gpu-1", gpus, cuda, image, PINS)
    except CheckFailed as exc:
        return False, str(exc)


def test_the_pins_are_read_from_versions_yml():
    assert (PINS.vllm_image, PINS.vllm_cpu_image, PINS.web_image) == (
        VERSIONS["hymt_vllm_image"],
        VERSIONS["hymt_vllm_cpu_image"],
        VERSIONS["hymt_web_image"],
    )
    assert PINS.cuda13_driver_min == VERSIONS["hymt_vllm_cuda_driver_min"]
    assert PINS.cu129_datacenter_branches == tuple(VERSIONS["hymt_vllm_cu129_datacenter_branches"])
    assert PINS.driver_branch == VERSIONS["hymt_nvidia_driver_branch"]
    assert PINS.gpu_image == PINS.vllm_image + PINS.variant


def test_the_query_and_the_header_are_parsed():
    gpus, cuda = machine("8xh100-570")
    assert len(gpus) == 8 and gpus[0]["name"].startswith("NVIDIA H100") and gpus[0]["memory_mb"] > 80_000
    assert cuda == "12.8" and gpus[0]["driver_version"].startswith("570.")
    with_capability = nvidia_gpus_from_nvidia_smi("0, NVIDIA L4, 23034, 580.95.05, 00000000:31:00.0, 8.9\n")
    assert with_capability[0]["compute_capability"] == "8.9"


def test_a_580_driver_runs_the_plain_image():
    gpus = nvidia_gpus_from_nvidia_smi("0, NVIDIA L40S, 46068, 580.95.05, 00000000:01:00.0, 8.9")
    ok, message = driver_verdict(gpus, "13.0", PINS.vllm_image)
    assert ok, message


@pytest.mark.parametrize("name", ["rtx4090-550", "t4-535", "8xh100-570", "rtx4090-575"])
def test_a_driver_too_old_for_the_plain_image_fails_with_the_upgrade_as_the_way_out(name):
    gpus, cuda = machine(name)
    ok, message = driver_verdict(gpus, cuda, PINS.vllm_image)
    assert not ok
    assert f"needs driver >= {PINS.cuda13_driver_min} (CUDA 13)" in message
    assert "set nvidia_driver_upgrade: true" in message


def test_the_cu129_build_is_mentioned_only_as_unverified_and_only_where_it_would_start():
    gpus, cuda = machine("rtx4090-575")  # CUDA 12.9: the -cu129 image would start
    assert "unverified" in driver_verdict(gpus, cuda, PINS.vllm_image)[1]
    gpus, cuda = machine("rtx4090-550")  # GeForce on 550: it would not
    assert "-cu129" not in driver_verdict(gpus, cuda, PINS.vllm_image)[1]


def test_the_cu129_image_on_a_datacenter_branch_passes_and_on_geforce_550_fails():
    gpus, cuda = machine("8xh100-570")
    assert driver_verdict(gpus, cuda, PINS.vllm_image + "-cu129")[0]
    gpus, cuda = machine("rtx4090-550")
    assert not driver_verdict(gpus, cuda, PINS.vllm_image + "-cu129")[0]


def test_a_gpu_older_than_turing_fails_whatever_the_driver():
    gpus = nvidia_gpus_from_nvidia_smi("0, Tesla V100-SXM2-16GB, 16384, 580.95.05, 00000000:00:1E.0, 7.0")
    ok, message = driver_verdict(gpus, "13.0", PINS.vllm_image)
    assert not ok and "vLLM cannot run on" in message
    assert "(compute capability 7.0)" in message and "7.5 (Turing) and newer only" in message


def test_nvidia_smi_failures_say_what_to_do():
    branch = PINS.driver_branch
    assert "reboot" in nvidia_smi_advice({"rc": 9, "stdout": data("nvidia-smi-not-loaded.txt")}, branch)
    assert "reboot the host" in nvidia_smi_advice({"rc": 18, "stdout": data("nvidia-smi-version-mismatch.txt")}, branch)
    assert "make provision" in nvidia_smi_advice({"rc": 127, "stderr": "nvidia-smi: command not found"}, branch)


# The recorded machines whose driver answers, on GPUs preflight lets through (verify refuses the others with
# preflight's message, test above), and not WSL (the role leaves the driver alone there).
WORKING = sorted(
    name
    for name, machine in MACHINES.items()
    if machine.nvidia_smi_query
    and "wsl" not in name
    and not gpus_vllm_cannot_run(machine.facts()["preflight_nvidia_pci_gpus"])
)


@pytest.mark.parametrize("variant", ["", "-cu129"])
@pytest.mark.parametrize("name", WORKING)
def test_verify_and_the_nvidia_driver_role_give_the_same_answer_and_way_out(name, variant):
    facts = driver_facts(MACHINES[name].facts())
    settings = PINS.driver_settings(PINS.vllm_image + variant) | {"enabled": True, "upgrade": False}
    plan = driver_plan(facts, settings)
    passes, message = driver_verdict(facts["gpus"], facts["cuda_version"], PINS.vllm_image + variant)
    assert plan["action"] in ("keep", "stop"), plan
    assert passes == (plan["action"] == "keep")
    if not passes:
        assert message == plan["message"]
