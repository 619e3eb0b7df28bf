"""The model catalogue: every model hymt-deploy knows how to fetch and serve, with what it needs.

One table, read by `hymt model list`, `hymt model fetch` (the ModelScope id of a Hugging Face id), and, through
`as_dicts()` / `requirements()`, by the roles (preflight's GPU, RAM and disk checks) and the stack.

Sizes are approximate: estimated from the parameter count and the precision (BF16: 2 bytes a parameter, FP8: about
1, GPTQ-Int4: about half a byte plus the embeddings), rounded; never exact byte counts. `hymt model fetch` checks the
real total against the free disk space before it downloads anything. `gpu_memory_mb` is the memory of the largest GPU
the model needs with room for the KV cache at --max-model-len 8192, `memory_mb` the host RAM vLLM needs while it
loads the weights, `disk_gb` the free space the model directory needs (the weights plus a margin).

ModelScope ids: the ones marked confirmed are in Tencent's Hunyuan-MT documentation; the others follow Tencent's
naming on ModelScope (organisation Tencent-Hunyuan, the Hugging Face name) and are not confirmed: when ModelScope
does not know one, `hymt model fetch` says so and asks for the right id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hymt.core.sampling import SAMPLING, SAMPLING_30B_A3B, Sampling

# Where a model comes from.
SOURCE_HUB = "huggingface or modelscope"
SOURCE_GENERATED = "generated locally (make rehearsal-model)"

# Support states: "supported" runs on the pinned vLLM release; "unverified" has not been started on it yet.
SUPPORTED = "supported"
UNVERIFIED = "unverified"

# Prompt families (the translation prompts differ between them; hymt.core.prompts implements each, and translates
# with a Chimera model by Hunyuan-MT's prompts).
FAMILY_HUNYUAN_MT = "hunyuan-mt"
FAMILY_CHIMERA = "chimera"
FAMILY_HY_MT15 = "hy-mt1.5"
FAMILY_HY_MT2 = "hy-mt2"

# FP8 builds keep the KV cache in FP8 too (Tencent's and vLLM's recommendation for these checkpoints).
_FP8_FLAGS = ("--kv-cache-dtype", "fp8")
_FP8_NOTE = "FP8 runs at full speed on compute capability >= 8.9 (L4, L20, L40S, RTX 4090, H100); Ampere falls back"
_HY_MT2_NOTE = "released 2026-05-21; not yet started on the pinned vLLM release"


@dataclass(frozen=True)
class CatalogueModel:
    model_id: str  # the Hugging Face id: the catalogue's key (HYMT_MODEL_ID, hymt_model_id)
    modelscope_id: str | None
    modelscope_confirmed: bool
    family: str  # prompt family
    parameters: str
    precision: str
    weights_gb: float  # approximate size of the weights on disk
    disk_gb: int
    gpu_memory_mb: int
    memory_mb: int
    vllm_flags: tuple[str, ...] = ()
    status: str = SUPPORTED
    source: str = SOURCE_HUB
    default: bool = False
    notes: str = ""
    sampling: Sampling = SAMPLING  # Tencent's recommendation for this model

    @property
    def served_name(self) -> str:
        """The default name vLLM serves it under (HYMT_SERVED_MODEL): the last path component of the id."""
        return self.model_id.rsplit("/", 1)[-1]

    def as_dict(self) -> dict[str, object]:
        """Plain data (lists, not tuples), for JSON and Ansible."""
        data = asdict(self)
        data["vllm_flags"] = list(self.vllm_flags)
        data["served_name"] = self.served_name
        return data


def _build(
    parameters: str, precision: str, weights_gb: float, disk_gb: int, gpu_memory_mb: int, memory_mb: int
) -> dict:
    """A build's size and needs (the fields of CatalogueModel of the same names); FP8 builds want an FP8 KV cache."""
    flags = _FP8_FLAGS if precision == "fp8" else ()
    return {
        "parameters": parameters,
        "precision": precision,
        "weights_gb": weights_gb,
        "disk_gb": disk_gb,
        "gpu_memory_mb": gpu_memory_mb,
        "memory_mb": memory_mb,
        "vllm_flags": flags,
    }


def _model(model_id: str, family: str, build: dict, *, notes: str = "", **fields: object) -> CatalogueModel:
    """A catalogue entry: a hub model of Tencent's (its ModelScope id by Tencent's naming, unconfirmed unless said) of
    one build; an FP8 build's notes end with what FP8 needs."""
    fields.setdefault("modelscope_id", f"Tencent-Hunyuan/{model_id.rsplit('/', 1)[-1]}")
    fields.setdefault("modelscope_confirmed", False)
    if build["precision"] == "fp8":
        notes = f"{notes}; {_FP8_NOTE}" if notes else _FP8_NOTE
    return CatalogueModel(model_id=model_id, family=family, notes=notes, **build, **fields)  # type: ignore[arg-type]


_30B_A3B = "30B-A3B (mixture of experts, 3B active)"
# The builds: parameters, precision, weights (GB), free disk (GB), GPU memory (MiB), host RAM (MiB).
_7B_BF16 = _build("7B", "bf16", 15, 16, 20000, 15000)
_7B_FP8 = _build("7B", "fp8", 8, 9, 12000, 12000)
_1_8B_BF16 = _build("1.8B", "bf16", 3.6, 4, 8000, 8000)
_1_8B_FP8 = _build("1.8B", "fp8", 2, 3, 6000, 6000)
_1_8B_INT4 = _build("1.8B", "gptq-int4", 1.5, 2, 4000, 4000)
_30B_BF16 = _build(_30B_A3B, "bf16", 61, 64, 80000, 64000)
_30B_FP8 = _build(_30B_A3B, "fp8", 31, 34, 48000, 36000)
_REHEARSAL = _build("about 0.4M (random weights)", "bf16", 0.0015, 1, 0, 4000)

_CONFIRMED = {"modelscope_confirmed": True}
_HY_MT2 = {"status": UNVERIFIED, "notes": _HY_MT2_NOTE}

CATALOGUE: tuple[CatalogueModel, ...] = (
    _model("tencent/Hunyuan-MT-7B", FAMILY_HUNYUAN_MT, _7B_BF16, default=True, **_CONFIRMED),
    _model("tencent/Hunyuan-MT-7B-fp8", FAMILY_HUNYUAN_MT, _7B_FP8, **_CONFIRMED),
    _model("tencent/Hunyuan-MT-Chimera-7B", FAMILY_CHIMERA, _7B_BF16, **_CONFIRMED),
    _model("tencent/Hunyuan-MT-Chimera-7B-fp8", FAMILY_CHIMERA, _7B_FP8),
    _model("tencent/HY-MT1.5-7B", FAMILY_HY_MT15, _7B_BF16),
    _model("tencent/HY-MT1.5-7B-FP8", FAMILY_HY_MT15, _7B_FP8),
    _model("tencent/HY-MT1.5-1.8B", FAMILY_HY_MT15, _1_8B_BF16),
    _model("tencent/HY-MT1.5-1.8B-FP8", FAMILY_HY_MT15, _1_8B_FP8),
    _model(
        "tencent/HY-MT1.5-1.8B-GPTQ-Int4",
        FAMILY_HY_MT15,
        _1_8B_INT4,
        notes="vLLM reads the GPTQ quantization from the checkpoint's config",
    ),
    _model("tencent/Hy-MT2-1.8B", FAMILY_HY_MT2, _1_8B_BF16, **_HY_MT2),
    _model("tencent/Hy-MT2-1.8B-FP8", FAMILY_HY_MT2, _1_8B_FP8, **_HY_MT2),
    _model("tencent/Hy-MT2-7B", FAMILY_HY_MT2, _7B_BF16, **_HY_MT2),
    _model("tencent/Hy-MT2-7B-FP8", FAMILY_HY_MT2, _7B_FP8, **_HY_MT2),
    _model(
        "tencent/Hy-MT2-30B-A3B",
        FAMILY_HY_MT2,
        _30B_BF16,
        status=UNVERIFIED,
        sampling=SAMPLING_30B_A3B,
        notes="at release its README asked for vLLM built from source and transformers >= 5.6.0; its own sampling "
        "(temperature 0.7, top_p 1.0, no top_k, repetition_penalty 1.0)",
    ),
    _model(
        "tencent/Hy-MT2-30B-A3B-FP8",
        FAMILY_HY_MT2,
        _30B_FP8,
        status=UNVERIFIED,
        sampling=SAMPLING_30B_A3B,
        notes="as Hy-MT2-30B-A3B",
    ),
    _model(
        "hymt-rehearsal",
        FAMILY_HUNYUAN_MT,
        _REHEARSAL,
        modelscope_id=None,
        source=SOURCE_GENERATED,
        notes="Hunyuan-MT-7B's architecture in miniature for vLLM on CPU; answers are gibberish",
    ),
)

DEFAULT_MODEL_ID = next(model.model_id for model in CATALOGUE if model.default)
REHEARSAL_MODEL_ID = "hymt-rehearsal"


def find(model_id: str) -> CatalogueModel | None:
    """The entry of a Hugging Face id or a ModelScope id (hub ids are case-insensitive), or None."""
    folded = model_id.strip().casefold()
    for model in CATALOGUE:
        if folded in (model.model_id.casefold(), (model.modelscope_id or "").casefold()):
            return model
    return None


def find_served(name: str) -> CatalogueModel | None:
    """The entry a served model name stands for: a hub id, or the default served name (the id's last part)."""
    folded = name.strip().casefold()
    return find(name) or next((model for model in CATALOGUE if model.served_name.casefold() == folded), None)


def as_dicts() -> list[dict[str, object]]:
    """The whole catalogue as plain data, in the table's order."""
    return [model.as_dict() for model in CATALOGUE]


def requirements() -> dict[str, dict[str, int]]:
    """What each model needs on a vLLM host, keyed by model id (the shape preflight's requirement table has)."""
    return {
        model.model_id: {
            "gpu_memory_mb": model.gpu_memory_mb,
            "memory_mb": model.memory_mb,
            "model_disk_gb": model.disk_gb,
        }
        for model in CATALOGUE
    }
