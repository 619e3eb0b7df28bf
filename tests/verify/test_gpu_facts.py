"""nvidia-smi's outputs and the driver's verdict against the pinned vLLM image, on the outputs in tests/gpu/data and
tests/ansible/data (transcribed from documentation and public reports, not captured: see their README)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hymt.verify.gpu_facts import Gpu, ImagePins, cuda_version, driver_verdict, parse_query, smi_failure

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = yaml.safe_load((ROOT / "inventory/group_vars/all/versions.yml").read_text())
PINS = ImagePins.from_vars(VERSIONS)


def data(name: str) -> str:
    for directory in ("tests/gpu/data", "tests/ansible/data"):
        if (ROOT / directory / name).is_file():
            return (ROOT / directory / name).read_text()
    raise FileNotFoundError(name)


def machine(name: str) -> tuple[list[Gpu], str]:
    return parse_query(data(f"nvidia-smi-query-{name}.csv")), cuda_version(data(f"nvidia-smi-{name}.txt"))


def test_the_pins_are_read_from_versions_yml():
    assert (PINS.vllm_image, PINS.vllm_cpu_image, PINS.web_image) == (
        VERSIONS["hymt_vllm_image"],
        VERSIONS["hymt_vllm_cpu_image"],
        VERSIONS["hymt_web_image"],
    )
    assert PINS.cuda13_driver_min == VERSIONS["hymt_vllm_cuda_driver_min"]
    assert PINS.cu129_datacenter_branches == tuple(VERSIONS["hymt_vllm_cu129_datacenter_branches"])
    assert PINS.gpu_image == PINS.vllm_image + PINS.variant


def test_the_query_and_the_header_are_parsed():
    gpus, cuda = machine("8xh100-570")
    assert len(gpus) == 8 and gpus[0].name.startswith("NVIDIA H100") and gpus[0].memory_mib > 80_000
    assert cuda == "12.8" and gpus[0].driver.startswith("570.")
    with_capability = parse_query("0, NVIDIA L4, 23034, 580.95.05, 00000000:31:00.0, 8.9\n")
    assert with_capability[0].compute_capability == "8.9"


def test_a_580_driver_runs_the_plain_image():
    gpus = parse_query("0, NVIDIA L40S, 46068, 580.95.05, 00000000:01:00.0, 8.9")
    verdict = driver_verdict(gpus, "13.0", PINS.vllm_image, PINS)
    assert verdict.ok, verdict.message


@pytest.mark.parametrize("name", ["rtx4090-550", "t4-535", "8xh100-570", "rtx4090-575"])
def test_a_driver_too_old_for_the_plain_image_fails_with_the_upgrade_as_the_way_out(name):
    gpus, cuda = machine(name)
    verdict = driver_verdict(gpus, cuda, PINS.vllm_image, PINS)
    assert not verdict.ok
    assert "too old for" in verdict.message and "nvidia_driver_upgrade: true" in verdict.message


def test_the_cu129_build_is_mentioned_only_as_unverified_and_only_where_it_would_start():
    gpus, cuda = machine("rtx4090-575")  # CUDA 12.9: the -cu129 image would start
    assert "unverified" in driver_verdict(gpus, cuda, PINS.vllm_image, PINS).message
    gpus, cuda = machine("rtx4090-550")  # GeForce on 550: it would not
    assert "-cu129" not in driver_verdict(gpus, cuda, PINS.vllm_image, PINS).message


def test_the_cu129_image_on_a_datacenter_branch_passes_and_on_geforce_550_fails():
    gpus, cuda = machine("8xh100-570")
    assert driver_verdict(gpus, cuda, PINS.vllm_image + "-cu129", PINS).ok
    gpus, cuda = machine("rtx4090-550")
    assert not driver_verdict(gpus, cuda, PINS.vllm_image + "-cu129", PINS).ok


def test_a_gpu_older_than_turing_fails_whatever_the_driver():
    gpus = parse_query("0, Tesla V100-SXM2-16GB, 16384, 580.95.05, 00000000:00:1E.0, 7.0")
    verdict = driver_verdict(gpus, "13.0", PINS.vllm_image, PINS)
    assert not verdict.ok and "compute capability below 7.5" in verdict.message


def test_nvidia_smi_failures_say_what_to_do():
    assert "reboot" in smi_failure(9, data("nvidia-smi-not-loaded.txt"))
    assert "reboot the host" in smi_failure(18, data("nvidia-smi-version-mismatch.txt"))
    assert "make provision" in smi_failure(127, "nvidia-smi: command not found")
