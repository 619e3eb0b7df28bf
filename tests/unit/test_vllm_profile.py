"""vLLM's settings per GPU (hymt.provision.stack): the values chosen for the GPUs of issue 15, written out; the
inventory's values winning; bad values refused in words; the rehearsal's CPU values equal to the compose files'.

The GPUs' memory is nvidia-smi's memory.total for each card: H100, L40S, A10 and RTX 4090 as the transcribed outputs
of tests/gpu/data and tests/ansible/data show it; L20 (48 GB like the L40S) and the 16 GB laptop GPU are stand-in
figures of the same kind (16376 MiB, what nvidia-smi shows for 16 GB GeForce cards), not transcriptions.
"""

from __future__ import annotations

import re

import pytest

from hymt.core import catalogue
from hymt.provision import stack
from hymt.provision.stack import Gpu, ProfileError, vllm_profile
from tests.gpu.machines import MACHINES
from tests.support.repo import ROOT

BF16 = catalogue.find("tencent/Hunyuan-MT-7B")
FP8 = catalogue.find("tencent/Hunyuan-MT-7B-fp8")
REHEARSAL_MODEL = catalogue.find(catalogue.REHEARSAL_MODEL_ID)

H100 = Gpu("NVIDIA H100 80GB HBM3", 81559, "9.0")
L40S = Gpu("NVIDIA L40S", 46068, "8.9")
L20 = Gpu("NVIDIA L20", 46068, "8.9")
A10 = Gpu("NVIDIA A10", 23028, "8.6")
RTX_4090 = Gpu("NVIDIA GeForce RTX 4090", 24564, "8.9")
LAPTOP_16GB = Gpu("NVIDIA GeForce RTX 4090 Laptop GPU", 16376, "8.9")
T4 = Gpu("Tesla T4", 15360, "7.5")

NAMES = ("max_model_len", "max_num_seqs", "max_num_batched_tokens", "enable_prefix_caching")
NAMES += ("gpu_memory_utilization", "dtype", "kv_cache_dtype", "tensor_parallel_size")

# GPUs, model -> the settings in NAMES' order. Worked out by hand from the rules in hymt.provision.stack: KV cache
# room = GPUs x memory x 0.90 - weights (15 GB = 14305 MiB; FP8 8 GB = 7629 MiB) - 1536 MiB a GPU, FP8 counting
# double; 256/128/64/32 sequences from 48/16/6/0 GiB of room; 8192/4096/2048 batched tokens from 40/20/0 GiB GPUs.
EXPECTED = {
    # 73403 - 14305 - 1536 = 57562 MiB, 56 GiB of room.
    "H100, BF16": ([H100], BF16, (4096, 256, 8192, True, 0.90, "auto", "auto", 1)),
    # FP8 weights and KV cache on Hopper: 73403 - 7629 - 1536 = 64238 MiB, counted double.
    "H100, FP8": ([H100], FP8, (4096, 256, 8192, True, 0.90, "auto", "fp8", 1)),
    # 41461 - 14305 - 1536 = 25620 MiB, 25 GiB.
    "L40S, BF16": ([L40S], BF16, (4096, 128, 8192, True, 0.90, "auto", "auto", 1)),
    "L40S, FP8": ([L40S], FP8, (4096, 256, 8192, True, 0.90, "auto", "fp8", 1)),
    "L20, BF16": ([L20], BF16, (4096, 128, 8192, True, 0.90, "auto", "auto", 1)),
    "L20, FP8": ([L20], FP8, (4096, 256, 8192, True, 0.90, "auto", "fp8", 1)),
    # 20725 - 14305 - 1536 = 4884 MiB, under 6 GiB.
    "A10, BF16": ([A10], BF16, (4096, 32, 4096, True, 0.90, "auto", "auto", 1)),
    # Ampere (8.6): the FP8 build falls back to weight-only FP8 kernels, and the KV cache stays 16-bit.
    "A10, FP8": ([A10], FP8, (4096, 64, 4096, True, 0.90, "auto", "auto", 1)),
    # 22108 - 14305 - 1536 = 6267 MiB, just over 6 GiB.
    "RTX 4090, BF16": ([RTX_4090], BF16, (4096, 64, 4096, True, 0.90, "auto", "auto", 1)),
    "RTX 4090, FP8": ([RTX_4090], FP8, (4096, 128, 4096, True, 0.90, "auto", "fp8", 1)),
    # One A10 holds the 7B model: no tensor parallelism unless asked for.
    "2x A10, BF16": ([A10, A10], BF16, (4096, 32, 4096, True, 0.90, "auto", "auto", 1)),
    # 14738 - 7629 - 1536 = 5573 MiB in FP8, counted double: 10.9 GiB.
    "16 GB laptop, FP8": ([LAPTOP_16GB], FP8, (4096, 64, 2048, True, 0.90, "auto", "fp8", 1)),
    # Turing has no bfloat16; one T4 cannot hold the BF16 model, two can: 2 x 13824 - 14305 - 3072 = 10271 MiB.
    "2x T4, BF16": ([T4, T4], BF16, (4096, 64, 2048, True, 0.90, "float16", "auto", 2)),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_the_settings_for_each_gpu_are_the_ones_worked_out(case):
    gpus, model, values = EXPECTED[case]
    chosen = vllm_profile(gpus, model)
    assert tuple(chosen.value(name) for name in NAMES) == values
    assert chosen.fits, chosen.problem
    assert all(choice.source == "computed" and choice.reason for choice in chosen.choices.values())


def test_the_env_lines_are_the_ones_compose_yaml_reads():
    chosen = vllm_profile([H100], FP8)
    assert chosen.env() == {
        "HYMT_VLLM_MAX_MODEL_LEN": "4096",
        "HYMT_VLLM_MAX_NUM_SEQS": "256",
        "HYMT_VLLM_MAX_NUM_BATCHED_TOKENS": "8192",
        "HYMT_VLLM_PREFIX_CACHING": "--enable-prefix-caching",
        "HYMT_VLLM_GPU_MEMORY_UTILIZATION": "0.90",
        "HYMT_VLLM_DTYPE": "auto",
        "HYMT_VLLM_KV_CACHE_DTYPE": "fp8",
        "HYMT_VLLM_TENSOR_PARALLEL_SIZE": "1",
    }
    compose = (ROOT / "compose/compose.yaml").read_text(encoding="utf-8")
    for name in chosen.env():
        assert "${" + name + ":-" in compose, f"compose.yaml does not read {name}"


def test_fp8_runs_natively_only_where_every_gpu_has_compute_capability_8_9():
    assert "FP8 (W8A8)" in vllm_profile([L40S], FP8).weights
    fallback = vllm_profile([A10], FP8)
    assert "weight-only FP8 kernels" in fallback.weights and "tencent/Hunyuan-MT-7B)" in fallback.weights
    assert "compute capability >= 8.9" in fallback.choices["kv_cache_dtype"].reason
    # One older GPU among newer ones keeps the KV cache 16-bit.
    assert vllm_profile([RTX_4090, A10], FP8).value("kv_cache_dtype") == "auto"
    # An unknown compute capability is not taken for a native one.
    assert vllm_profile([Gpu("NVIDIA L40S", 46068, "")], FP8).value("kv_cache_dtype") == "auto"
    # The BF16 build stays BF16 on FP8 hardware, and the reason names the FP8 build.
    assert "tencent/Hunyuan-MT-7B-fp8 halves the weights" in vllm_profile([H100], BF16).weights


def test_a_second_gpu_that_one_gpu_does_not_need_is_named_as_idle():
    reason = vllm_profile([A10, A10], BF16).choices["tensor_parallel_size"].reason
    assert "other 1 GPU(s) stay idle" in reason and "stack_vllm_tensor_parallel_size" in reason


def test_tensor_parallelism_takes_the_fewest_gpus_that_hold_the_model():
    assert vllm_profile([T4] * 4, BF16).value("tensor_parallel_size") == 2
    assert vllm_profile([T4] * 3, BF16).value("tensor_parallel_size") == 2
    assert vllm_profile([H100] * 8, BF16).value("tensor_parallel_size") == 1


def test_a_16_gb_gpu_cannot_hold_the_bf16_model_and_the_problem_names_the_fixes():
    chosen = vllm_profile([LAPTOP_16GB], BF16)
    assert not chosen.fits
    assert "16376 MiB with tensor parallelism 1" in chosen.problem
    assert "tencent/Hunyuan-MT-7B needs 20000 MiB" in chosen.problem
    assert "a smaller model: tencent/Hunyuan-MT-7B-fp8 needs 12000 MiB" in chosen.problem


def test_pooling_fewer_gpus_than_needed_is_refused_naming_the_setting():
    chosen = vllm_profile([T4, T4], BF16, overrides={"tensor_parallel_size": 1})
    assert not chosen.fits
    assert "pool more of the 2 GPUs (stack_vllm_tensor_parallel_size)" in chosen.problem


def test_too_small_a_share_of_memory_leaves_no_room_for_the_kv_cache():
    chosen = vllm_profile([A10], BF16, overrides={"gpu_memory_utilization": 0.6})
    assert "leaves no room for the KV cache" in chosen.problem and "stack_vllm_gpu_memory_utilization" in chosen.problem


def test_the_inventorys_values_win_and_say_where_they_come_from():
    overrides = {"max_model_len": 8192, "max_num_seqs": 48, "enable_prefix_caching": False, "tensor_parallel_size": 2}
    chosen = vllm_profile([A10, A10], BF16, overrides=overrides, env={"HYMT_VLLM_KV_CACHE_DTYPE": "fp8"})
    assert tuple(chosen.value(name) for name in NAMES) == (8192, 48, 4096, False, 0.90, "auto", "fp8", 2)
    assert chosen.env()["HYMT_VLLM_PREFIX_CACHING"] == "--no-enable-prefix-caching"
    assert chosen.choices["max_num_seqs"].source == "stack_vllm_max_num_seqs"
    assert chosen.choices["kv_cache_dtype"].source == "stack_env's HYMT_VLLM_KV_CACHE_DTYPE"
    # Pooling two GPUs asked for, the computed values follow it: 2 x 20725 - 14305 - 2 x 1536 MiB = 23.5 GiB of room.
    pooled = vllm_profile([A10, A10], BF16, overrides={"tensor_parallel_size": 2})
    assert (
        pooled.value("max_num_seqs") == 128 and "about 24 GiB of KV cache room" in pooled.choices["max_num_seqs"].reason
    )


def test_strings_from_the_inventory_are_read_as_numbers_and_flags():
    env = {"HYMT_VLLM_MAX_NUM_SEQS": "8", "HYMT_VLLM_PREFIX_CACHING": "--no-enable-prefix-caching"}
    chosen = vllm_profile([A10], BF16, overrides={"gpu_memory_utilization": "0.85"}, env=env)
    assert (chosen.value("max_num_seqs"), chosen.value("enable_prefix_caching")) == (8, False)
    assert chosen.env()["HYMT_VLLM_GPU_MEMORY_UTILIZATION"] == "0.85"


def test_a_stack_env_value_not_known_here_is_kept_as_written_for_vllm_to_judge():
    chosen = vllm_profile([A10], BF16, env={"HYMT_VLLM_DTYPE": "no-such-dtype", "HYMT_VLLM_MAX_NUM_SEQS": "many"})
    assert chosen.env()["HYMT_VLLM_DTYPE"] == "no-such-dtype"
    assert chosen.env()["HYMT_VLLM_MAX_NUM_SEQS"] == "many"
    assert "for vLLM to judge" in chosen.choices["dtype"].reason
    # The arithmetic goes on with the computed value.
    assert chosen.env()["HYMT_VLLM_MAX_NUM_BATCHED_TOKENS"] == "4096"


BAD = {
    "context-too-short": ({"max_model_len": 2048}, "stack_vllm_max_model_len is 2048", "from 3176 to 32768"),
    "context-beyond-the-model": ({"max_model_len": 65536}, "is 65536", "the model's context is 32768"),
    "seqs-not-a-number": ({"max_num_seqs": "lots"}, "stack_vllm_max_num_seqs is 'lots'", "a whole number"),
    "seqs-zero": ({"max_num_seqs": 0}, "is 0", "from 1 to 1024"),
    "share-over-one": ({"gpu_memory_utilization": 1.5}, "is 1.5", "from 0.10 to 0.98"),
    "share-not-a-number": ({"gpu_memory_utilization": "most"}, "is 'most'", "e.g. 0.90"),
    "dtype": ({"dtype": "int4"}, "stack_vllm_dtype is 'int4'", "auto, bfloat16, float16"),
    "kv-cache-dtype": ({"kv_cache_dtype": "fp4"}, "stack_vllm_kv_cache_dtype is 'fp4'", "fp8_e4m3"),
    "prefix-caching": ({"enable_prefix_caching": "sometimes"}, "is 'sometimes'", "write true or false"),
    "more-gpus-than-there-are": ({"tensor_parallel_size": 4}, "host has 2 GPU(s)", "Write at most 2"),
    "fewer-batched-tokens-than-seqs": (
        {"max_num_seqs": 512, "max_num_batched_tokens": 256},
        "max_num_batched_tokens (256) is below max_num_seqs (512)",
        "raise stack_vllm_max_num_batched_tokens",
    ),
    "unknown-setting": ({"swap_space": 4}, "unknown vLLM setting 'swap_space'", "the settings are max_model_len"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_inventory_value_is_refused_in_words(case):
    overrides, *words = BAD[case]
    with pytest.raises(ProfileError) as refused:
        vllm_profile([A10, A10], BF16, overrides=overrides)
    for part in words:
        assert part in str(refused.value), f"{part!r} not in {refused.value}"


def test_the_same_setting_twice_with_different_values_is_refused():
    with pytest.raises(ProfileError, match="set only one of them"):
        vllm_profile([A10], BF16, overrides={"max_num_seqs": 32}, env={"HYMT_VLLM_MAX_NUM_SEQS": "8"})
    # The same value twice, each in its own terms, is no conflict.
    assert vllm_profile([A10], BF16, overrides={"max_num_seqs": 8}, env={"HYMT_VLLM_MAX_NUM_SEQS": "8"}).fits
    same = {"HYMT_VLLM_PREFIX_CACHING": "--no-enable-prefix-caching"}
    assert vllm_profile([A10], BF16, overrides={"enable_prefix_caching": False}, env=same).fits


@pytest.mark.parametrize(
    ("gpus", "profile", "words"),
    [
        ([], "gpu", "no GPU to choose vLLM's settings for"),
        ([Gpu("NVIDIA A10", None, "8.6")], "gpu", "make provision"),
        ([A10], "staging", "hymt_profile is 'gpu' or 'rehearsal'"),
    ],
    ids=["no-gpu", "memory-unknown", "unknown-profile"],
)
def test_what_the_settings_cannot_be_chosen_from_is_refused_in_words(gpus, profile, words):
    with pytest.raises(ProfileError, match=re.escape(words)):
        vllm_profile(gpus, BF16, profile)


def read_env(path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line))


def compose_defaults() -> dict[str, str]:
    compose = (ROOT / "compose/compose.yaml").read_text(encoding="utf-8")
    return dict(re.findall(r"\$\{(HYMT_VLLM_[A-Z_]+):-([^}]*)\}", compose))


def test_the_rehearsal_keeps_the_cpu_values_of_the_compose_files():
    chosen = vllm_profile([], REHEARSAL_MODEL, "rehearsal")
    # What vLLM on the CPU got before: compose.yaml's defaults, under compose/rehearsal.env.
    before = compose_defaults() | read_env(ROOT / "compose/rehearsal.env")
    assert chosen.env() == {name: before[name] for name in chosen.env()}
    assert all(choice.source == "rehearsal" for choice in chosen.choices.values())


def test_the_rehearsal_takes_the_inventorys_values_but_no_tensor_parallelism():
    assert vllm_profile([], REHEARSAL_MODEL, "rehearsal", env={"HYMT_VLLM_MAX_NUM_SEQS": 8}).value("max_num_seqs") == 8
    with pytest.raises(ProfileError, match="must be 1 in the rehearsal"):
        vllm_profile([], REHEARSAL_MODEL, "rehearsal", overrides={"tensor_parallel_size": 2})


def test_the_compute_capability_comes_from_the_pci_bus_of_the_same_slot():
    # The transcribed HGX board: nvidia-smi's 00000000:18:00.0 is lspci's 0000:18:00.0, a Hopper GPU.
    facts = MACHINES["hgx-8xh100-570"].facts()
    gpus = stack.gpus_from_facts(facts["preflight_nvidia_gpus"], facts["preflight_nvidia_pci_gpus"])
    assert [(gpu.memory_mb, gpu.compute_capability) for gpu in gpus] == [(81559, "9.0")] * 8
    # The A10G VM: Ampere's lowest capability (8.0), below 8.9 as the A10G's own 8.6 is.
    facts = MACHINES["a10g-580"].facts()
    (gpu,) = stack.gpus_from_facts(facts["preflight_nvidia_gpus"], facts["preflight_nvidia_pci_gpus"])
    assert (gpu.name, gpu.memory_mb, gpu.compute_capability) == ("NVIDIA A10G", 23028, "8.0")


def test_the_ansible_view_returns_words_instead_of_raising():
    facts = MACHINES["hgx-8xh100-570"].facts()
    view = stack.settings_for_host(
        facts["preflight_nvidia_gpus"], facts["preflight_nvidia_pci_gpus"], "tencent/Hunyuan-MT-7B-fp8"
    )
    assert view["error"] == "" and view["fits"] and view["env"]["HYMT_VLLM_KV_CACHE_DTYPE"] == "fp8"
    assert view["summary"].startswith("vLLM for tencent/Hunyuan-MT-7B-fp8 on 8x NVIDIA H100 80GB HBM3 (81559 MiB")
    assert view["explained"][0].startswith("HYMT_VLLM_MAX_MODEL_LEN=4096: a request through the gateway")
    unknown = stack.settings_for_host(facts["preflight_nvidia_gpus"], model_id="tencent/Hunyuan-MT-70B")
    assert "not in the model catalogue (hymt model list)" in unknown["error"] and not unknown["fits"]
    bad = stack.settings_for_host(facts["preflight_nvidia_gpus"], overrides={"dtype": "int4"})
    assert "stack_vllm_dtype is 'int4'" in bad["error"]


def test_preflights_question_names_the_host():
    problem = stack.fit_problem_for_host([{"name": "Tesla T4", "memory_mb": 15360}], host="gpu-1")
    assert problem.startswith("gpu-1: the GPUs (1x Tesla T4 (15360 MiB)) give vLLM 15360 MiB")
    assert stack.fit_problem_for_host([{"name": "Tesla T4", "memory_mb": 15360}] * 2, host="gpu-1") == ""
