"""The preflight role stops early, in words, on each thing that would make a deployment fail later.

Each case runs the role on this machine with one thing wrong: an inventory mistake, or a faked fact (an unsupported
system, too little RAM, disk or GPU memory, a missing GPU). The message must name the problem and what to do.
"""

from __future__ import annotations

import pytest

from tests.ansible.conftest import A10, GPU_SERVER_GROUPS, T4, Case
from tests.gpu.machines import MACHINES

T4_SECOND = T4 | {"slot": "00000000:00:05.0"}


def gpu_facts(machine: str) -> dict:
    """The GPUs preflight records for a recorded machine (its PCI bus and nvidia-smi)."""
    facts = MACHINES[machine].facts()
    return {name: facts[name] for name in ("preflight_nvidia_gpus", "preflight_nvidia_pci_gpus")}


CASES = {
    "good-rehearsal-host": Case(),
    "good-gpu-server": Case(groups=GPU_SERVER_GROUPS, facts={"preflight_nvidia_gpus": [A10]}),
    # The same, but with this machine's real disks (the tiny rehearsal model fits anywhere).
    "good-host-real-disks": Case(alone=True, real_disks=True),
    # A host that holds every image it runs is not asked for room to pull them (a re-run on a full disk).
    "nothing-to-pull": Case(
        host_vars={"preflight_docker_min_free_gb": 1_000_000, "preflight_images": []}, alone=True, real_disks=True
    ),
    "unknown-profile": Case(host_vars={"hymt_profile": "staging"}),
    "host-in-no-group": Case(groups=()),
    "no-gpu-hosts": Case(groups=("edge",), alone=True),
    "unknown-model": Case(host_vars={"hymt_model_id": "tencent/Hunyuan-MT-70B"}),
    "unknown-image-variant": Case(host_vars={"hymt_vllm_image_variant": "-cu118"}),
    "unsupported-os": Case(facts={"preflight_distribution": "Ubuntu", "preflight_release": "20.04"}),
    "unsupported-architecture": Case(facts={"preflight_architecture": "aarch64"}),
    "no-systemd": Case(facts={"preflight_service_manager": "sysvinit"}),
    "too-little-ram": Case(facts={"preflight_memory_mb": 2048}),
    # Docker and the model on one file system: their needs add up (an image this machine never holds: a pull).
    "too-little-disk": Case(
        host_vars={
            "preflight_docker_min_free_gb": 1_000_000,
            "preflight_images": ["hymt/never-built:0"],
            "docker_daemon_data_root": "/tmp/hymt-preflight/docker",
            "hymt_model_dir": "/tmp/hymt-preflight/models",
        },
        alone=True,
        real_disks=True,
    ),
    "missing-gpu": Case(groups=GPU_SERVER_GROUPS),
    "too-little-gpu-memory": Case(groups=GPU_SERVER_GROUPS, facts={"preflight_nvidia_gpus": [T4]}),
    # GPUs vLLM has no kernels for, as preflight finds them on the PCI bus of the transcribed machines.
    "volta-gpu": Case(groups=GPU_SERVER_GROUPS, facts=gpu_facts("v100-580"), alone=True),
    "pascal-gpu": Case(groups=GPU_SERVER_GROUPS, facts=gpu_facts("ubuntu-2404-gcp-p100"), alone=True),
    "turing-gpu": Case(
        groups=GPU_SERVER_GROUPS, facts=gpu_facts("t4-535") | {"preflight_nvidia_gpus": [T4]}, alone=True
    ),
    "wrong-type-in-inventory": Case(host_vars={"preflight_docker_min_free_gb": "plenty"}),
    # One T4 cannot hold the 7B model, two pooled by tensor parallelism can (hymt.provision.stack chooses 2) ...
    "two-t4s-pooled": Case(groups=GPU_SERVER_GROUPS, facts={"preflight_nvidia_gpus": [T4, T4_SECOND]}),
    # ... unless the inventory keeps the model on one of them.
    "two-t4s-not-pooled": Case(
        groups=GPU_SERVER_GROUPS,
        host_vars={"stack_vllm_tensor_parallel_size": 1},
        facts={"preflight_nvidia_gpus": [T4, T4_SECOND]},
    ),
    # A vLLM setting vLLM would refuse at start is refused here, before anything is installed.
    "bad-vllm-setting": Case(
        groups=GPU_SERVER_GROUPS, host_vars={"stack_vllm_max_model_len": 1024}, facts={"preflight_nvidia_gpus": [A10]}
    ),
}

# Each failing case and the words its message must contain: the problem, in the inventory's terms, and the remedy.
EXPECTED_FAILURES = {
    "unknown-profile": ["hymt_profile is 'staging'", "'gpu'", "'rehearsal'"],
    "host-in-no-group": ["host-in-no-group is in neither the gpu_hosts group", "edge group", "cloud.example.yml"],
    "no-gpu-hosts": ["gpu_hosts group is empty", "Add the GPU server to gpu_hosts"],
    "unknown-model": [
        "hymt_model_id is 'tencent/Hunyuan-MT-70B'",
        "tencent/Hunyuan-MT-7B",
        "add it to the model catalogue",
    ],
    "unknown-image-variant": ["hymt_vllm_image_variant is '-cu118'", "'-cu129'"],
    "unsupported-os": ["runs Ubuntu 20.04, which hymt-deploy does not support", "Debian 12, 13", "Ubuntu 22.04, 24.04"],
    "unsupported-architecture": ["unsupported-architecture is aarch64", "supports x86_64 only"],
    "no-systemd": ["not run by systemd (service manager: sysvinit)", "full server or VM image"],
    "too-little-ram": ["2048 MB of RAM", "hymt-rehearsal needs at least 4000 MB", "more memory, or a smaller model"],
    "too-little-disk": [
        "Not enough free disk space on /",
        "1000001.0 GB needed for the images hymt/never-built:0 (/tmp/hymt-preflight/docker)",
        "and the model hymt-rehearsal (/tmp/hymt-preflight/models)",
        "docker_daemon_data_root",
    ],
    "missing-gpu": ["puts missing-gpu in gpu_hosts with the gpu profile", "no NVIDIA GPU", "instance type"],
    "too-little-gpu-memory": ["15360 MiB", "tencent/Hunyuan-MT-7B needs 20000 MiB", "tencent/Hunyuan-MT-7B-fp8 needs"],
    # What is wrong (the GPU, its kind), why no setting helps, and what would work.
    "volta-gpu": ["volta-gpu has GPUs vLLM cannot run on", "(Volta, compute capability 7.0)", "a Turing or newer GPU"],
    "pascal-gpu": ["(Pascal, compute capability 6.0)", "7.5 (Turing) and newer", "no image variant or driver changes"],
    # A T4 (Turing, 7.5) is new enough; with its 16 GB it is refused for the 7B model's memory, not for its kind.
    "turing-gpu": ["15360 MiB", "tencent/Hunyuan-MT-7B needs 20000 MiB"],
    "wrong-type-in-inventory": ["preflight_docker_min_free_gb", "int"],
    "two-t4s-not-pooled": [
        "two-t4s-not-pooled: the GPUs (2x Tesla T4 (15360 MiB)) give vLLM 15360 MiB with tensor parallelism 1",
        "pool more of the 2 GPUs (stack_vllm_tensor_parallel_size)",
    ],
    "bad-vllm-setting": ["stack_vllm_max_model_len is 1024", "from 3176 to 32768"],
}


GOOD = ["good-rehearsal-host", "good-gpu-server", "good-host-real-disks", "nothing-to-pull", "two-t4s-pooled"]


@pytest.mark.parametrize("name", GOOD)
def test_a_suitable_host_passes(local_runs, name):
    run = local_runs.result(name)
    assert run.succeeded(name), run.explain(name)
    summary = "Debian 12 (bookworm) x86_64, 64.0 GiB RAM"
    assert any(message.startswith(summary) for message in run.messages(name)), run.explain(name)


def test_the_summary_names_the_gpu(local_runs):
    run = local_runs.result("good-gpu-server")
    assert any("RAM, NVIDIA A10" in message for message in run.messages("good-gpu-server")), run.explain()


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_a_problem_stops_the_run_with_a_message_that_says_what_to_do(local_runs, name):
    message = local_runs.result(name).refusal(name)
    for words in EXPECTED_FAILURES[name]:
        assert words in message, f"{name}: {words!r} is not in the message:\n{message}"
    assert "Traceback" not in message


def test_every_case_is_checked():
    assert set(CASES) == set(EXPECTED_FAILURES) | set(GOOD)
