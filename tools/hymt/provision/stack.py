"""The stack role's decisions: vLLM's settings for the GPUs a host has, the model it serves and the profile.

vLLM's own defaults suit any workload on any GPU. A translation service is one workload: short requests (the
gateway sends a chunk of at most about 1,000 tokens and asks for at most 2,048 back), all of them beginning with the
same chat template and instruction. So the settings are chosen here, each with the reason a user can read in the
host's .env and in the play's output, from what preflight found (each GPU's memory from nvidia-smi, its compute
capability from the PCI bus) and the model catalogue's entry (weights, precision, the memory it needs).

Every value can be set in the inventory instead (stack_vllm_*, or the HYMT_VLLM_* name in stack_env); a value set
there always wins and is checked here, with a message saying what to write, before vLLM would refuse it at start.
The rehearsal profile keeps the CPU values it always had (compose/rehearsal.env and compose.yaml's defaults).

The memory arithmetic is an estimate for choosing defaults, not a measurement: vLLM profiles the real memory at start
and sizes its KV cache from what is left. docs/performance.md ("vLLM settings per GPU") shows the outcome per GPU.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hymt.core import catalogue
from hymt.core.catalogue import CatalogueModel
from hymt.core.chunking import DEFAULT_BUDGET
from hymt.core.prompts import MAX_TOKENS_CAP
from hymt.hostfacts import version_at_least

GPU = "gpu"
REHEARSAL = "rehearsal"
PROFILES = (GPU, REHEARSAL)

# Ada Lovelace (8.9), Hopper (9.0) and newer have FP8 tensor cores; older GPUs emulate FP8 (weight-only kernels).
FP8_NATIVE_CAPABILITY = "8.9"
# Ampere (8.0) is the first generation with bfloat16; Turing (7.5) computes in float16.
BF16_CAPABILITY = "8.0"
# The model's own context (Hunyuan-MT, HY-MT1.5 and Hy-MT2 7B: 32768).
MODEL_CONTEXT = 32768
# What one gateway request can hold: a chunk's input, the largest answer it asks for, and room for the chat
# template and instruction. A shorter context would make vLLM refuse the longest requests.
MIN_MAX_MODEL_LEN = DEFAULT_BUDGET + MAX_TOKENS_CAP + 128
MAX_MODEL_LEN = 4096
# vLLM's share of each GPU's memory (weights, activations, KV cache); the rest is the CUDA context's and others'.
GPU_MEMORY_UTILIZATION = 0.90
# Per GPU, out of vLLM's share: activations, CUDA graphs and the sampler's buffers (an estimate, for the KV cache
# room below; vLLM measures the real figure at start).
RESERVE_PER_GPU_MB = 1536
MIB_PER_GB = 1000**3 / 1024**2
# vLLM's limits on the batch: sequences at once, and tokens in one scheduler step (chunked prefill splits longer
# prompts). max_num_seqs tiers by the KV cache room (GiB, FP8 counting double): (at least, sequences).
SEQS_BY_KV_ROOM_GIB = ((48, 256), (16, 128), (6, 64), (0, 32))
# max_num_batched_tokens by the smallest GPU's memory (MiB): (at least, tokens).
BATCHED_TOKENS_BY_GPU_MB = ((40960, 8192), (20480, 4096), (0, 2048))
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
DTYPES = ("auto", "bfloat16", "float16", "half", "float", "float32")
KV_CACHE_DTYPES = ("auto", "bfloat16", "float16", "fp8", "fp8_e4m3", "fp8_e5m2")
PREFIX_CACHING_FLAGS = {True: "--enable-prefix-caching", False: "--no-enable-prefix-caching"}


@dataclass(frozen=True)
class Setting:
    """One of vLLM's settings: its name here (stack_vllm_<name>), the .env variable compose.yaml reads, vLLM's flag."""

    name: str
    env: str
    flag: str


SETTINGS = (
    Setting("max_model_len", "HYMT_VLLM_MAX_MODEL_LEN", "--max-model-len"),
    Setting("max_num_seqs", "HYMT_VLLM_MAX_NUM_SEQS", "--max-num-seqs"),
    Setting("max_num_batched_tokens", "HYMT_VLLM_MAX_NUM_BATCHED_TOKENS", "--max-num-batched-tokens"),
    Setting("enable_prefix_caching", "HYMT_VLLM_PREFIX_CACHING", "--enable-prefix-caching"),
    Setting("gpu_memory_utilization", "HYMT_VLLM_GPU_MEMORY_UTILIZATION", "--gpu-memory-utilization"),
    Setting("dtype", "HYMT_VLLM_DTYPE", "--dtype"),
    Setting("kv_cache_dtype", "HYMT_VLLM_KV_CACHE_DTYPE", "--kv-cache-dtype"),
    Setting("tensor_parallel_size", "HYMT_VLLM_TENSOR_PARALLEL_SIZE", "--tensor-parallel-size"),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}

# The rehearsal's vLLM on the CPU, as it always ran: compose/rehearsal.env's values over compose.yaml's defaults, and
# for the two flags compose.yaml gained, what vLLM 0.32 did on the CPU without them (2048 batched tokens for its API
# server; prefix caching on for a generative model). tests/unit/test_vllm_profile.py keeps them equal to those files.
REHEARSAL_VALUES: dict[str, object] = {
    "max_model_len": 4096,
    "max_num_seqs": 16,
    "max_num_batched_tokens": 2048,
    "enable_prefix_caching": True,
    "gpu_memory_utilization": GPU_MEMORY_UTILIZATION,
    "dtype": "bfloat16",
    "kv_cache_dtype": "auto",
    "tensor_parallel_size": 1,
}


class ProfileError(ValueError):
    """Input the settings cannot be chosen from; the message says what to change."""


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_mb: int | None  # nvidia-smi's memory.total; None without a working driver
    compute_capability: str = ""  # "" when unknown

    def describe(self) -> str:
        capability = f", compute capability {self.compute_capability}" if self.compute_capability else ""
        return f"{self.name} ({self.memory_mb} MiB{capability})"


@dataclass(frozen=True)
class Choice:
    value: object
    reason: str
    source: str  # "computed", "rehearsal" or where the user set it ("stack_vllm_x", "stack_env's HYMT_VLLM_X")
    # A value of stack_env this module does not know (a dtype of a newer vLLM, say): written as given, vLLM judges it.
    verbatim: bool = False


@dataclass(frozen=True)
class VllmProfile:
    """vLLM's settings with their reasons, and whether the model fits the GPUs with them."""

    profile: str
    model_id: str
    choices: dict[str, Choice]
    weights: str  # how the weights run on these GPUs (no flag: vLLM reads the checkpoint's precision itself)
    gpus: tuple[Gpu, ...]
    problem: str = ""  # "" when the model fits

    @property
    def fits(self) -> bool:
        return not self.problem

    def value(self, name: str) -> object:
        return self.choices[name].value

    def env(self) -> dict[str, str]:
        """The .env lines compose.yaml reads (HYMT_VLLM_*), as strings."""
        rendered = {}
        for setting in SETTINGS:
            value = self.value(setting.name)
            if self.choices[setting.name].verbatim:
                rendered[setting.env] = str(value)
            elif setting.name == "enable_prefix_caching":
                rendered[setting.env] = PREFIX_CACHING_FLAGS[bool(value)]
            elif isinstance(value, float):
                rendered[setting.env] = f"{value:.2f}"
            else:
                rendered[setting.env] = str(value)
        return rendered

    def summary(self) -> str:
        """One line: where vLLM runs and the values of its settings."""
        parts = []
        for setting in SETTINGS:
            value = self.value(setting.name)
            if setting.name == "enable_prefix_caching" and not self.choices[setting.name].verbatim:
                parts.append(f"prefix caching {'on' if value else 'off'}")
            else:
                parts.append(f"{setting.flag.removeprefix('--')} {self.env()[setting.env]}")
        where = _describe_gpus(self.gpus) if self.profile == GPU else "the CPU (rehearsal)"
        return f"vLLM for {self.model_id} on {where}: {', '.join(parts)}"

    def explained(self) -> list[str]:
        """One line a setting: its .env line and why (the reason, or where the inventory set it)."""
        env = self.env()
        return [
            f"{_BY_NAME[name].env}={env[_BY_NAME[name].env]}: {choice.reason}" for name, choice in self.choices.items()
        ]

    def as_dict(self) -> dict[str, object]:
        """Plain data for Ansible: the env lines, each setting's value, reason and source, the fit."""
        return {
            "profile": self.profile,
            "env": self.env(),
            "settings": {
                name: {
                    "value": choice.value,
                    "reason": choice.reason,
                    "source": choice.source,
                    "env": _BY_NAME[name].env,
                }
                for name, choice in self.choices.items()
            },
            "weights": self.weights,
            "summary": self.summary(),
            "explained": self.explained(),
            "fits": self.fits,
            "problem": self.problem,
            "error": "",
        }


def _describe_gpus(gpus: tuple[Gpu, ...]) -> str:
    counted: dict[str, int] = {}
    for gpu in gpus:
        counted[gpu.describe()] = counted.get(gpu.describe(), 0) + 1
    return ", ".join(f"{count}x {name}" for name, count in counted.items())


def _bus_id(slot: str) -> tuple[int, str]:
    """nvidia-smi's 00000000:01:00.0 and lspci's 0000:01:00.0 as one key (the domain's width differs)."""
    domain, _, rest = str(slot or "").lower().partition(":")
    try:
        return int(domain, 16), rest
    except ValueError:
        return -1, str(slot)


def gpus_from_facts(gpus: list[dict], pci_gpus: list[dict] | None = None) -> list[Gpu]:
    """preflight's GPUs (nvidia-smi's names and memory) with each one's compute capability: its own when nvidia-smi
    gave one, else the PCI bus's for the same slot (the lowest of its architecture: exact for the >= 8.9 question,
    since every Ada chip is 8.9 and every Hopper chip 9.0)."""
    by_slot = {_bus_id(gpu.get("slot", "")): gpu.get("compute_capability", "") for gpu in pci_gpus or []}
    merged = []
    for gpu in gpus or []:
        if not isinstance(gpu, Mapping):
            raise ProfileError(f"a GPU must be a mapping with name and memory_mb (preflight_nvidia_gpus), not {gpu!r}")
        capability = gpu.get("compute_capability") or by_slot.get(_bus_id(gpu.get("slot", "")), "")
        memory = gpu.get("memory_mb")
        merged.append(Gpu(str(gpu.get("name", "?")), int(memory) if memory not in (None, "") else None, capability))
    return merged


def _integer(name: str, value: object, where: str, low: int, high: int, why: str) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"\s*\d+\s*", str(value)):
        raise ProfileError(f"{where} is {value!r}: write a whole number from {low} to {high} ({why}).")
    number = int(str(value))
    if not low <= number <= high:
        raise ProfileError(f"{where} is {number}: write a whole number from {low} to {high} ({why}).")
    return number


def _boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    known = {"true": True, "yes": True, "false": False, "no": False}
    known |= {flag: on for on, flag in PREFIX_CACHING_FLAGS.items()}
    if text not in known:
        raise ProfileError(
            f"{where} is {value!r}: write true or false (in stack_env: {' or '.join(PREFIX_CACHING_FLAGS.values())})."
        )
    return known[text]


def _check(name: str, value: object, where: str) -> object:
    """An inventory value, in vLLM's terms, or a ProfileError saying what to write instead."""
    if name == "max_model_len":
        return _integer(
            name,
            value,
            where,
            MIN_MAX_MODEL_LEN,
            MODEL_CONTEXT,
            f"the gateway's longest request takes about {MIN_MAX_MODEL_LEN} tokens, the model's context is "
            f"{MODEL_CONTEXT}",
        )
    if name == "max_num_seqs":
        return _integer(name, value, where, 1, 1024, "sequences vLLM runs at once")
    if name == "max_num_batched_tokens":
        return _integer(name, value, where, 256, 65536, "tokens in one scheduler step")
    if name == "tensor_parallel_size":
        return _integer(name, value, where, 1, 8, "GPUs one model is split across; 1, 2, 4 or 8")
    if name == "enable_prefix_caching":
        return _boolean(value, where)
    if name == "gpu_memory_utilization":
        try:
            share = float(str(value))
        except ValueError:
            share = -1.0
        if not 0.1 <= share <= 0.98:
            raise ProfileError(
                f"{where} is {value!r}: write vLLM's share of each GPU's memory as a number from 0.10 to 0.98 "
                "(e.g. 0.90)."
            )
        return share
    allowed = DTYPES if name == "dtype" else KV_CACHE_DTYPES
    if str(value) not in allowed:
        raise ProfileError(f"{where} is {value!r}: write one of {', '.join(allowed)}.")
    return str(value)


def user_settings(overrides: Mapping[str, object] | None, env: Mapping[str, object] | None) -> dict[str, Choice]:
    """The settings the inventory fixes: stack_vllm_<name> (None or "" is unset), checked, and the HYMT_VLLM_* names in
    stack_env. stack_env is the escape hatch for any setting of compose/.env.example: a value of it that is not one
    this module knows is kept as written (vLLM judges it at start), never refused. Both set to different values is
    refused: which one was meant cannot be guessed."""
    chosen: dict[str, Choice] = {}
    unknown = sorted(set(overrides or {}) - set(_BY_NAME))
    if unknown:
        raise ProfileError(f"unknown vLLM setting {unknown[0]!r}: the settings are {', '.join(_BY_NAME)}.")
    for setting in SETTINGS:
        direct = (overrides or {}).get(setting.name)
        in_env = (env or {}).get(setting.env)
        variable = f"stack_vllm_{setting.name}"
        from_env = f"stack_env's {setting.env}"
        given = None
        if in_env not in (None, ""):
            try:
                given = Choice(_check(setting.name, in_env, from_env), f"set in the inventory ({from_env})", from_env)
            except ProfileError:
                reason = f"set in the inventory ({from_env}), a value not known here: as written, for vLLM to judge"
                given = Choice(str(in_env), reason, from_env, verbatim=True)
        if direct not in (None, ""):
            checked = _check(setting.name, direct, variable)
            if given is not None and given.value != checked:
                raise ProfileError(f"{variable} is {direct!r} but {from_env} is {in_env!r}: set only one of them.")
            given = Choice(checked, f"set in the inventory ({variable})", variable)
        if given is not None:
            chosen[setting.name] = given
    return chosen


def _fp8_sibling(model: CatalogueModel) -> CatalogueModel | None:
    if model.precision == "fp8":
        return None
    return catalogue.find(f"{model.model_id}-fp8")


def _weights_mb(model: CatalogueModel) -> int:
    return round(model.weights_gb * MIB_PER_GB)


def _tier(table: tuple[tuple[float, int], ...], amount: float) -> int:
    return next(value for least, value in table if amount >= least)


def vllm_profile(
    gpus: list[Gpu],
    model: CatalogueModel,
    profile: str = GPU,
    overrides: Mapping[str, object] | None = None,
    env: Mapping[str, object] | None = None,
) -> VllmProfile:
    """vLLM's settings for serving `model` on `gpus` in `profile`, each with its reason; inventory values win."""
    if profile not in PROFILES:
        raise ProfileError(f"the profile is {profile!r}: hymt_profile is 'gpu' or 'rehearsal'.")
    user = user_settings(overrides, env)
    if profile == REHEARSAL:
        if str(user.get("tensor_parallel_size", Choice(1, "", "")).value) != "1":
            raise ProfileError(
                "stack_vllm_tensor_parallel_size must be 1 in the rehearsal: vLLM runs on the CPU, in one process."
            )
        choices = {
            name: user.get(name) or Choice(value, "the rehearsal's value for vLLM on the CPU", "rehearsal")
            for name, value in REHEARSAL_VALUES.items()
        }
        return VllmProfile(profile, model.model_id, choices, "as the checkpoint stores them, on the CPU", ())
    return _gpu_profile(tuple(gpus), model, user)


def _gpu_profile(gpus: tuple[Gpu, ...], model: CatalogueModel, user: dict[str, Choice]) -> VllmProfile:
    if not gpus:
        raise ProfileError(
            "no GPU to choose vLLM's settings for: the gpu profile needs the GPUs preflight finds (nvidia-smi). "
            "Check the instance type, or use hymt_profile: rehearsal."
        )
    unknown = [gpu for gpu in gpus if not gpu.memory_mb]
    if unknown:
        raise ProfileError(
            f"the memory of {unknown[0].name} is unknown (no working NVIDIA driver answered nvidia-smi): provision the "
            "host first (make provision), then deploy."
        )
    smallest = min(gpu.memory_mb or 0 for gpu in gpus)
    capabilities = [gpu.compute_capability for gpu in gpus]
    fp8_native = all(version_at_least(cc, FP8_NATIVE_CAPABILITY) for cc in capabilities)
    known_below_bf16 = any(cc and not version_at_least(cc, BF16_CAPABILITY) for cc in capabilities)
    need = model.gpu_memory_mb
    choices: dict[str, Choice] = {}

    def choose(name: str, value: object, reason: str) -> object:
        """The inventory's value, else the computed one; a verbatim value leaves the arithmetic the computed one."""
        choices[name] = user.get(name) or Choice(value, reason, "computed")
        return value if choices[name].verbatim else choices[name].value

    # Tensor parallelism: only when one GPU cannot hold the model, over the fewest GPUs that can (a power of two:
    # vLLM splits the attention heads evenly across them).
    count = len(gpus)
    usable = [size for size in TENSOR_PARALLEL_SIZES if size <= count]
    pooled = next((size for size in usable if size * smallest >= need), usable[-1])
    if pooled == 1:
        reason = f"one GPU holds the model ({smallest} MiB, it needs {need} MiB)"
        if count > 1:
            reason += (
                f"; the other {count - 1} GPU(s) stay idle: set stack_vllm_tensor_parallel_size to pool them for more "
                "KV cache"
            )
    else:
        reason = (
            f"one GPU ({smallest} MiB) cannot hold the model ({need} MiB): its weights and KV cache are split over "
            f"{pooled} GPUs"
        )
    tensor_parallel = int(choose("tensor_parallel_size", pooled, reason))
    if tensor_parallel > count:
        raise ProfileError(
            f"stack_vllm_tensor_parallel_size is {tensor_parallel}, but the host has {count} GPU(s): vLLM would wait "
            f"for GPUs that are not there. Write at most {usable[-1]}."
        )
    share = float(
        choose(
            "gpu_memory_utilization",
            GPU_MEMORY_UTILIZATION,
            "vLLM's share of each GPU for weights, activations and KV cache; the rest is the CUDA context's",
        )
    )

    fp8_build = "fp8" in model.vllm_flags
    if fp8_build and fp8_native:
        weights = "FP8 (W8A8): every GPU has compute capability >= 8.9 and runs FP8 natively"
    elif fp8_build:
        weights = (
            "FP8, through vLLM's weight-only FP8 kernels: not every GPU has compute capability >= 8.9, so the FP8 "
            "build falls back (it still needs only its smaller memory, but computes in 16 bits and runs slower than "
            f"natively); on these GPUs the 16-bit build ({model.model_id.removesuffix('-fp8').removesuffix('-FP8')}) "
            "is the faster choice when it fits"
        )
    else:
        weights = f"{model.precision.upper()}, as the checkpoint stores them"
        if fp8_native and _fp8_sibling(model):
            weights += f" (these GPUs run FP8 natively: {_fp8_sibling(model).model_id} halves the weights)"
    if known_below_bf16:
        dtype_reason = "a GPU older than Ampere (compute capability < 8.0) has no bfloat16: float16 instead"
        choose("dtype", "float16", dtype_reason)
    else:
        choose("dtype", "auto", "the checkpoint's own 16-bit type (bfloat16)")
    if fp8_build and fp8_native:
        kv_reason = "the FP8 build on GPUs that run FP8 natively (compute capability >= 8.9): half the KV cache memory"
        kv_cache = choose("kv_cache_dtype", "fp8", kv_reason)
    elif fp8_build:
        kv_reason = "not every GPU has compute capability >= 8.9, where FP8 runs natively: the KV cache stays 16-bit"
        kv_cache = choose("kv_cache_dtype", "auto", kv_reason)
    else:
        kv_cache = choose("kv_cache_dtype", "auto", "16 bits like the weights: full precision for a 16-bit build")

    room_mb = tensor_parallel * smallest * share - _weights_mb(model) - tensor_parallel * RESERVE_PER_GPU_MB
    fp8_cache = str(kv_cache).startswith("fp8")
    room_gib = max(room_mb, 0) / 1024 * (2 if fp8_cache else 1)
    choose(
        "max_model_len",
        MAX_MODEL_LEN,
        f"a request through the gateway holds at most about {MIN_MAX_MODEL_LEN} tokens ({DEFAULT_BUDGET} of text, "
        f"up to {MAX_TOKENS_CAP} of answer); the model's {MODEL_CONTEXT} would only let one request take more of the "
        "KV cache the others share",
    )
    seqs = _tier(SEQS_BY_KV_ROOM_GIB, room_gib)
    cache_words = " (FP8, counting double)" if fp8_cache else ""
    max_num_seqs = int(
        choose(
            "max_num_seqs",
            seqs,
            f"about {room_gib:.0f} GiB of KV cache room{cache_words} after the weights (an estimate; vLLM measures "
            "it at start): translations are short, so this many fit at once",
        )
    )
    tokens = max(_tier(BATCHED_TOKENS_BY_GPU_MB, smallest), max_num_seqs)
    batched = int(
        choose(
            "max_num_batched_tokens",
            tokens,
            f"{tokens} tokens a step on {smallest} MiB GPUs: several translation prompts prefill together "
            "(more on large GPUs; 2048, vLLM's own default below 70 GiB, on small ones keeps activations small)",
        )
    )
    if batched < max_num_seqs:
        raise ProfileError(
            f"max_num_batched_tokens ({batched}) is below max_num_seqs ({max_num_seqs}), which vLLM refuses: raise "
            "stack_vllm_max_num_batched_tokens or lower stack_vllm_max_num_seqs."
        )
    choose(
        "enable_prefix_caching",
        True,
        "every request starts with the same chat template and instruction: vLLM reuses their cached blocks",
    )
    ordered = {setting.name: choices[setting.name] for setting in SETTINGS}
    problem = _fit_problem(gpus, model, tensor_parallel, smallest, share, room_mb)
    return VllmProfile(GPU, model.model_id, ordered, weights, gpus, problem)


def _fit_problem(
    gpus: tuple[Gpu, ...], model: CatalogueModel, tensor_parallel: int, smallest: int, share: float, room_mb: float
) -> str:
    """Why the model does not fit the GPUs with these settings, and what to do; "" when it fits."""
    pooled = tensor_parallel * smallest
    sibling = _fp8_sibling(model)
    smaller = (
        f"a smaller model: {sibling.model_id} needs {sibling.gpu_memory_mb} MiB"
        if sibling
        else "a smaller model (hymt model list)"
    )
    more = ""
    if len(gpus) > tensor_parallel:
        more = f"pool more of the {len(gpus)} GPUs (stack_vllm_tensor_parallel_size), "
    if pooled < model.gpu_memory_mb:
        return (
            f"the GPUs ({_describe_gpus(gpus)}) give vLLM {pooled} MiB with tensor parallelism {tensor_parallel}, but "
            f"{model.model_id} needs {model.gpu_memory_mb} MiB (its weights, about {model.weights_gb:g} GB, and room "
            f"for the KV cache). Choose a GPU with more memory, {more}or {smaller}."
        )
    if room_mb <= 0:
        return (
            f"with gpu_memory_utilization {share:.2f}, vLLM's share of {pooled} MiB leaves no room for the KV cache "
            f"beside {model.model_id}'s weights (about {model.weights_gb:g} GB): raise "
            "stack_vllm_gpu_memory_utilization (0.90 is the default), or choose " + smaller + "."
        )
    return ""


def settings_for_host(
    gpus: list[dict],
    pci_gpus: list[dict] | None = None,
    model_id: str = catalogue.DEFAULT_MODEL_ID,
    profile: str = GPU,
    overrides: Mapping[str, object] | None = None,
    env: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The Ansible view: from preflight's facts and the inventory to plain data; bad input gives {"error": words}."""
    try:
        model = catalogue.find(str(model_id or ""))
        if model is None:
            raise ProfileError(
                f"the model {model_id!r} is not in the model catalogue (hymt model list): vLLM's settings are chosen "
                "from its entry. Use a listed model, or add it to the catalogue."
            )
        chosen = vllm_profile(gpus_from_facts(gpus, pci_gpus), model, profile, overrides, env)
    except ProfileError as error:
        return {
            "error": str(error),
            "fits": False,
            "problem": "",
            "env": {},
            "settings": {},
            "summary": "",
            "explained": [],
        }
    return chosen.as_dict()


def fit_problem_for_host(
    gpus: list[dict],
    pci_gpus: list[dict] | None = None,
    model_id: str = catalogue.DEFAULT_MODEL_ID,
    overrides: Mapping[str, object] | None = None,
    env: Mapping[str, object] | None = None,
    host: str = "this host",
) -> str:
    """preflight's question on a GPU host: what stops the model from fitting its GPUs with the settings the stack role
    will choose (or a setting the inventory gets wrong), in words naming the fix; "" when it fits."""
    chosen = settings_for_host(gpus, pci_gpus, model_id, GPU, overrides, env)
    said = chosen["error"] or chosen["problem"]
    return f"{host}: {said}" if said else ""
