"""Seeded random weights in bf16, written as a safetensors file without torch.

numpy has no bfloat16, and safetensors' numpy helpers refuse what numpy cannot hold, so the bf16 bytes are made by
rounding float32 values (round to nearest, ties to even: the upper 16 bits of the float32 pattern) and the file is
written in the documented safetensors layout: an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the tensors' bytes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from hymt.rehearsal.spec import RehearsalSpec

BF16 = "BF16"


def to_bf16_bytes(values: np.ndarray) -> bytes:
    """The little-endian bf16 encoding of `values` (finite float32), rounded to nearest even."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes()


def from_bf16_bytes(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """float32 values of bf16 bytes (for checks; exact, as every bf16 value is a float32 value)."""
    halves = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
    return halves.view(np.float32).reshape(shape)


def tensor_shapes(spec: RehearsalSpec, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes as in Hunyuan-MT-7B's checkpoint (separate q/k/v and gate/up; no lm_head: tied)."""
    hidden, head_dim = spec.hidden_size, spec.head_dim
    q_width, kv_width = spec.num_attention_heads * head_dim, spec.num_key_value_heads * head_dim
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (vocab_size, hidden)}
    for layer in range(spec.num_hidden_layers):
        prefix = f"model.layers.{layer}"
        shapes |= {
            f"{prefix}.input_layernorm.weight": (hidden,),
            f"{prefix}.self_attn.q_proj.weight": (q_width, hidden),
            f"{prefix}.self_attn.k_proj.weight": (kv_width, hidden),
            f"{prefix}.self_attn.v_proj.weight": (kv_width, hidden),
            f"{prefix}.self_attn.o_proj.weight": (hidden, q_width),
            f"{prefix}.self_attn.query_layernorm.weight": (head_dim,),
            f"{prefix}.self_attn.key_layernorm.weight": (head_dim,),
            f"{prefix}.post_attention_layernorm.weight": (hidden,),
            f"{prefix}.mlp.gate_proj.weight": (spec.intermediate_size, hidden),
            f"{prefix}.mlp.up_proj.weight": (spec.intermediate_size, hidden),
            f"{prefix}.mlp.down_proj.weight": (hidden, spec.intermediate_size),
        }
    shapes["model.norm.weight"] = (hidden,)
    return shapes


def random_weights(spec: RehearsalSpec, vocab_size: int) -> dict[str, np.ndarray]:
    """Normal(0, initializer_range) matrices and all-ones norms, the same for the same spec (seeded)."""
    rng = np.random.default_rng(spec.seed)
    weights = {}
    for name, shape in tensor_shapes(spec, vocab_size).items():
        if name.endswith("norm.weight"):
            weights[name] = np.ones(shape, dtype=np.float32)
        else:
            weights[name] = rng.normal(0.0, spec.initializer_range, size=shape).astype(np.float32)
    return weights


def write_safetensors(path: Path, weights: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write `weights` as bf16 tensors in the safetensors format, in name order (a stable, byte-identical file)."""
    header: dict[str, object] = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name in sorted(weights):
        data = to_bf16_bytes(weights[name])
        header[name] = {"dtype": BF16, "shape": list(weights[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format aligns the tensor data to 8 bytes
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for chunk in chunks:
            out.write(chunk)
