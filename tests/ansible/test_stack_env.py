"""The .env the stack role writes for vLLM, rendered by its own tasks and template for faked GPU hosts (the
transcribed machines of tests/gpu/machines.py) and for the rehearsal: the settings chosen for the GPUs, each with its
reason beside it, the inventory's values winning, every HYMT_VLLM_* name once, and a bad value or a model too large
for the GPUs stopping the role in words before anything is written. docker compose reading such a file:
tests/stack/test_compose_config.py."""

from __future__ import annotations

import re

import pytest

from hymt.provision import stack
from tests.gpu.machines import MACHINES
from tests.support.playbook import render_per_host
from tests.support.repo import ROOT

PLAYBOOK = ROOT / "tests/ansible/playbooks/stack_env.yml"


def gpu_host(machine: str, **settings) -> dict:
    facts = MACHINES[machine].facts()
    return {
        "preflight_nvidia_gpus": facts["preflight_nvidia_gpus"],
        "preflight_nvidia_pci_gpus": facts["preflight_nvidia_pci_gpus"],
        "preflight_memory_mb": 262144,
        **settings,
    }


HOSTS = {
    "h100-fp8": gpu_host("hgx-8xh100-570", hymt_model_id="tencent/Hunyuan-MT-7B-fp8"),
    "a10g-bf16": gpu_host("a10g-580", stack_vllm_max_num_seqs=48, stack_env={"HYMT_VLLM_PREFIX_CACHING": "false"}),
    "rehearsal": {"stack_env": {"HYMT_VLLM_MAX_NUM_SEQS": 8}},
    "a10g-two-web-workers": gpu_host("a10g-580", stack_web_workers=2),
    "t4-bf16": gpu_host("t4-535"),
    "bad-dtype": gpu_host("a10g-580", stack_vllm_dtype="int4"),
}
GROUPS = {"rehearsal": ["rehearsal"]}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    directory = tmp_path_factory.mktemp("stack-env")
    return render_per_host(PLAYBOOK, directory, HOSTS, GROUPS, {"out_dir": "{out}"})


def settings(text: str) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in text.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)]


def env_of(rendered, host: str) -> tuple[dict[str, str], str]:
    run, out = rendered
    assert run.succeeded(host), run.explain(host)
    text = (out / f"{host}.env").read_text(encoding="utf-8")
    pairs = settings(text)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a setting is written twice:\n{text}"
    return dict(pairs), text


def reason_above(text: str, name: str) -> str:
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}="))
    assert lines[index - 1].startswith("# "), text
    return lines[index - 1]


def test_an_h100_board_serving_the_fp8_model_gets_an_fp8_kv_cache_on_one_gpu(rendered):
    env, text = env_of(rendered, "h100-fp8")
    vllm = {name: value for name, value in env.items() if name.startswith("HYMT_VLLM_") and "IMAGE" not in name}
    # What hymt.provision.stack chooses for these facts (its values are written out in tests/unit/test_vllm_profile.py),
    # every one of them, and the memory limit the role derives from the host's RAM.
    facts = HOSTS["h100-fp8"]
    chosen = stack.settings_for_host(
        facts["preflight_nvidia_gpus"], facts["preflight_nvidia_pci_gpus"], "tencent/Hunyuan-MT-7B-fp8"
    )
    assert vllm == chosen["env"] | {"HYMT_VLLM_MEM_LIMIT": "258048m"}
    assert (vllm["HYMT_VLLM_KV_CACHE_DTYPE"], vllm["HYMT_VLLM_TENSOR_PARALLEL_SIZE"]) == ("fp8", "1")
    assert "compute capability >= 8.9" in reason_above(text, "HYMT_VLLM_KV_CACHE_DTYPE")
    assert "one GPU holds the model" in reason_above(text, "HYMT_VLLM_TENSOR_PARALLEL_SIZE")
    assert "other 7 GPU(s) stay idle" in reason_above(text, "HYMT_VLLM_TENSOR_PARALLEL_SIZE")
    assert "# vLLM's settings: vLLM for tencent/Hunyuan-MT-7B-fp8 on 8x NVIDIA H100 80GB HBM3 (81559 MiB" in text
    assert "# Weights: FP8 (W8A8)" in text


def test_the_play_shows_each_setting_with_its_reason(rendered):
    run, _ = rendered
    said = " ".join(run.messages("h100-fp8"))
    assert "HYMT_VLLM_KV_CACHE_DTYPE=fp8: the FP8 build on GPUs that run FP8 natively" in said, said
    assert "weights: FP8 (W8A8)" in said


def test_the_inventorys_values_win_over_the_computed_ones(rendered):
    env, text = env_of(rendered, "a10g-bf16")
    assert env["HYMT_VLLM_MAX_NUM_SEQS"] == "48"
    assert "set in the inventory (stack_vllm_max_num_seqs)" in reason_above(text, "HYMT_VLLM_MAX_NUM_SEQS")
    # stack_env's value, in vLLM's own terms.
    assert env["HYMT_VLLM_PREFIX_CACHING"] == "--no-enable-prefix-caching"
    # Ampere: the KV cache stays 16-bit; one A10G holds the BF16 model.
    assert (env["HYMT_VLLM_KV_CACHE_DTYPE"], env["HYMT_VLLM_TENSOR_PARALLEL_SIZE"]) == ("auto", "1")


def test_the_rehearsal_keeps_its_cpu_values_once_each(rendered):
    env, text = env_of(rendered, "rehearsal")
    profile_env = dict(settings((ROOT / "compose/rehearsal.env").read_text(encoding="utf-8")))
    # rehearsal.env's values, but the inventory's max_num_seqs; its other settings (the start period) still there.
    assert {name: env[name] for name in profile_env} == profile_env | {"HYMT_VLLM_MAX_NUM_SEQS": "8"}
    assert env["HYMT_VLLM_TENSOR_PARALLEL_SIZE"] == "1" and env["HYMT_VLLM_MAX_NUM_BATCHED_TOKENS"] == "2048"
    assert "the rehearsal's value for vLLM on the CPU" in reason_above(text, "HYMT_VLLM_DTYPE")
    assert "HYMT_VLLM_CPU_IMAGE=" in text and "HYMT_VLLM_MEM_LIMIT" not in text


@pytest.mark.parametrize(
    ("host", "words"),
    [
        (
            "t4-bf16",
            ["t4-bf16: the GPUs (1x Tesla T4 (15360 MiB", "tencent/Hunyuan-MT-7B needs 20000 MiB", "-fp8 needs"],
        ),
        ("bad-dtype", ["bad-dtype: stack_vllm_dtype is 'int4'", "write one of auto, bfloat16"]),
    ],
)
def test_a_model_too_large_or_a_bad_value_stops_the_role_before_the_env_is_written(rendered, host, words):
    run, out = rendered
    message = run.refusal(host)
    for part in words:
        assert part in message, message
    assert not (out / f"{host}.env").exists()


def test_the_web_workers_are_written_only_when_more_than_one(rendered):
    # One (the default) is the web app's own default: nothing to write, as for every web setting left alone.
    assert "HYMT_WEB_WORKERS" not in env_of(rendered, "h100-fp8")[0]
    assert env_of(rendered, "a10g-two-web-workers")[0]["HYMT_WEB_WORKERS"] == "2"
