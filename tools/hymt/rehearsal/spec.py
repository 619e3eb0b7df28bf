"""What the rehearsal model is: Hunyuan-MT-7B's architecture at a size that loads in seconds on a CPU.

The architecture-level keys are those of tencent/Hunyuan-MT-7B's config.json (`HunYuanDenseV1ForCausalLM`, model
type `hunyuan_v1_dense`, q/k norm, no cross-layer attention, tied embeddings, dynamic NTK-alpha RoPE, bf16), read the
way vLLM's hunyuan_v1 model and transformers' HunYuanDenseV1Config read them. Only the sizes shrink: 2 layers, hidden
128, 4 query heads sharing 1 KV head of dimension 128, a vocabulary of about a thousand byte-level BPE tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hymt.core.prompts import SAMPLING

ARCHITECTURE = "HunYuanDenseV1ForCausalLM"
MODEL_TYPE = "hunyuan_v1_dense"

# The tokens Hunyuan-MT's chat template and generation config use (its tokenizer has them too, among many more).
BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|eos|>"
PAD_TOKEN = "<|pad|>"
USER_END_TOKEN = "<|extra_0|>"  # ends a user turn; the model answers right after it
SYSTEM_END_TOKEN = "<|extra_4|>"  # ends a system turn
SPECIAL_TOKENS: tuple[str, ...] = (
    BOS_TOKEN,
    EOS_TOKEN,
    PAD_TOKEN,
    "<|extra_0|>",
    "<|extra_1|>",
    "<|extra_2|>",
    "<|extra_3|>",
    "<|extra_4|>",
)
assert USER_END_TOKEN in SPECIAL_TOKENS and SYSTEM_END_TOKEN in SPECIAL_TOKENS


@dataclass(frozen=True)
class RehearsalSpec:
    """Everything that decides the generated files; a change here (or in GENERATOR_VERSION) regenerates them."""

    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 1
    head_dim: int = 128
    vocab_size: int = 1024  # the BPE trainer's target: special tokens + 256 bytes + merges
    max_position_embeddings: int = 32768  # Hunyuan-MT-7B's context length
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    rope_alpha: float = 1000.0  # Hunyuan's dynamic NTK-alpha scaling
    initializer_range: float = 0.02
    seed: int = 20250901

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Bumped whenever the generator writes different files for the same spec.
GENERATOR_VERSION = 1
DEFAULT_SPEC = RehearsalSpec()


def model_config(spec: RehearsalSpec, vocab_size: int, token_ids: dict[str, int]) -> dict[str, object]:
    """config.json, laid out like Hunyuan-MT-7B's."""
    return {
        "architectures": [ARCHITECTURE],
        "model_type": MODEL_TYPE,
        "vocab_size": vocab_size,
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_hidden_layers,
        "num_attention_heads": spec.num_attention_heads,
        "num_key_value_heads": spec.num_key_value_heads,
        "head_dim": spec.head_dim,
        "attention_head_dim": spec.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": spec.max_position_embeddings,
        "rms_norm_eps": spec.rms_norm_eps,
        "initializer_range": spec.initializer_range,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "use_qk_norm": True,
        "use_cla": False,
        "cla_share_factor": 1,
        "tie_word_embeddings": True,
        # Hunyuan's checkpoints use the legacy keys, which transformers >= 5 turns into rope_parameters; the same
        # path the real model takes. transformers 5.16+ requires "factor" for dynamic RoPE (Hunyuan-MT has 1.0).
        "rope_theta": spec.rope_theta,
        "rope_scaling": {"type": "dynamic", "alpha": spec.rope_alpha, "factor": 1.0},
        "bos_token_id": token_ids[BOS_TOKEN],
        "eos_token_id": token_ids[EOS_TOKEN],
        "pad_token_id": token_ids[PAD_TOKEN],
        "use_cache": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.56.0",  # the first release that knows hunyuan_v1_dense
    }


def generation_config(token_ids: dict[str, int]) -> dict[str, object]:
    """generation_config.json: Tencent's recommended sampling, which vLLM applies unless told otherwise."""
    return {
        "bos_token_id": token_ids[BOS_TOKEN],
        "eos_token_id": token_ids[EOS_TOKEN],
        "pad_token_id": token_ids[PAD_TOKEN],
        "do_sample": True,
        **SAMPLING.as_params(),
    }
