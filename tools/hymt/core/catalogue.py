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

# Where a model comes from.
SOURCE_HUB = "huggingface or modelscope"
SOURCE_GENERATED = "generated locally (make rehearsal-model)"

# Support states: "supported" runs on the pinned vLLM release; "unverified" has not been started on it yet.
SUPPORTED = "supported"
UNVERIFIED = "unverified"

# Prompt families (the translation prompts differ between them; hymt.core.prompts implements hunyuan-mt and hy-mt1.5).
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


def _model(model_id: str, **fields: object) -> CatalogueModel:
    name = model_id.rsplit("/", 1)[-1]
    fields.setdefault("modelscope_id", f"Tencent-Hunyuan/{name}")
    fields.setdefault("modelscope_confirmed", False)
    return CatalogueModel(model_id=model_id, **fields)  # type: ignore[arg-type]


_7B_BF16 = {"parameters": "7B", "precision": "bf16", "weights_gb": 15, "disk_gb": 16}
_7B_BF16_NEEDS = {"gpu_memory_mb": 20000, "memory_mb": 15000}
_7B_BF16_ALL = {**_7B_BF16, **_7B_BF16_NEEDS}
_7B_FP8 = {"parameters": "7B", "precision": "fp8", "weights_gb": 8, "disk_gb": 9}
_7B_FP8_NEEDS = {"gpu_memory_mb": 12000, "memory_mb": 12000, "vllm_flags": _FP8_FLAGS, "notes": _FP8_NOTE}
_1_8B_BF16 = {"parameters": "1.8B", "precision": "bf16", "weights_gb": 3.6, "disk_gb": 4}
_1_8B_BF16_NEEDS = {"gpu_memory_mb": 8000, "memory_mb": 8000}
_1_8B_BF16_ALL = {**_1_8B_BF16, **_1_8B_BF16_NEEDS}
_1_8B_FP8 = {"parameters": "1.8B", "precision": "fp8", "weights_gb": 2, "disk_gb": 3}
_1_8B_FP8_NEEDS = {"gpu_memory_mb": 6000, "memory_mb": 6000, "vllm_flags": _FP8_FLAGS, "notes": _FP8_NOTE}

CATALOGUE: tuple[CatalogueModel, ...] = (
    _model(
        "tencent/Hunyuan-MT-7B",
        modelscope_confirmed=True,
        family=FAMILY_HUNYUAN_MT,
        default=True,
        **_7B_BF16,
        **_7B_BF16_NEEDS,
    ),
    _model(
        "tencent/Hunyuan-MT-7B-fp8", modelscope_confirmed=True, family=FAMILY_HUNYUAN_MT, **_7B_FP8, **_7B_FP8_NEEDS
    ),
    _model(
        "tencent/Hunyuan-MT-Chimera-7B",
        modelscope_confirmed=True,
        family=FAMILY_CHIMERA,
        **_7B_BF16,
        **_7B_BF16_NEEDS,
    ),
    _model("tencent/Hunyuan-MT-Chimera-7B-fp8", family=FAMILY_CHIMERA, **_7B_FP8, **_7B_FP8_NEEDS),
    _model("tencent/HY-MT1.5-7B", family=FAMILY_HY_MT15, **_7B_BF16, **_7B_BF16_NEEDS),
    _model("tencent/HY-MT1.5-7B-FP8", family=FAMILY_HY_MT15, **_7B_FP8, **_7B_FP8_NEEDS),
    _model("tencent/HY-MT1.5-1.8B", family=FAMILY_HY_MT15, **_1_8B_BF16, **_1_8B_BF16_NEEDS),
    _model("tencent/HY-MT1.5-1.8B-FP8", family=FAMILY_HY_MT15, **_1_8B_FP8, **_1_8B_FP8_NEEDS),
    _model(
        "tencent/HY-MT1.5-1.8B-GPTQ-Int4",
        family=FAMILY_HY_MT15,
        parameters="1.8B",
        precision="gptq-int4",
        weights_gb=1.5,
        disk_gb=2,
        gpu_memory_mb=4000,
        memory_mb=4000,
        notes="vLLM reads the GPTQ quantization from the checkpoint's config",
    ),
    _model(
        "tencent/Hy-MT2-1.8B",
        family=FAMILY_HY_MT2,
        status=UNVERIFIED,
        **_1_8B_BF16,
        **_1_8B_BF16_NEEDS,
        notes=_HY_MT2_NOTE,
    ),
    _model(
        "tencent/Hy-MT2-1.8B-FP8",
        family=FAMILY_HY_MT2,
        status=UNVERIFIED,
        **_1_8B_FP8,
        **{**_1_8B_FP8_NEEDS, "notes": f"{_HY_MT2_NOTE}; {_FP8_NOTE}"},
    ),
    _model(
        "tencent/Hy-MT2-7B", family=FAMILY_HY_MT2, status=UNVERIFIED, **_7B_BF16, **_7B_BF16_NEEDS, notes=_HY_MT2_NOTE
    ),
    _model(
        "tencent/Hy-MT2-7B-FP8",
        family=FAMILY_HY_MT2,
        status=UNVERIFIED,
        **_7B_FP8,
        **{**_7B_FP8_NEEDS, "notes": f"{_HY_MT2_NOTE}; {_FP8_NOTE}"},
    ),
    _model(
        "tencent/Hy-MT2-30B-A3B",
        family=FAMILY_HY_MT2,
        status=UNVERIFIED,
        parameters="30B-A3B (mixture of experts, 3B active)",
        precision="bf16",
        weights_gb=61,
        disk_gb=64,
        gpu_memory_mb=80000,
        memory_mb=64000,
        notes="at release its README asked for vLLM built from source and transformers >= 5.6.0; its own sampling "
        "(temperature 0.7, top_p 1.0, no top_k, repetition_penalty 1.0)",
    ),
    _model(
        "tencent/Hy-MT2-30B-A3B-FP8",
        family=FAMILY_HY_MT2,
        status=UNVERIFIED,
        parameters="30B-A3B (mixture of experts, 3B active)",
        precision="fp8",
        weights_gb=31,
        disk_gb=34,
        gpu_memory_mb=48000,
        memory_mb=36000,
        vllm_flags=_FP8_FLAGS,
        notes=f"as Hy-MT2-30B-A3B; {_FP8_NOTE}",
    ),
    CatalogueModel(
        model_id="hymt-rehearsal",
        modelscope_id=None,
        modelscope_confirmed=False,
        family=FAMILY_HUNYUAN_MT,
        parameters="about 0.4M (random weights)",
        precision="bf16",
        weights_gb=0.0015,
        disk_gb=1,
        gpu_memory_mb=0,
        memory_mb=4000,
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
