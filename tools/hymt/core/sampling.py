"""Tencent's recommended sampling: one set for most models, another for Hy-MT2-30B-A3B (the catalogue says which)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters as the model cards recommend them (also in each model's generation_config.json). Each
    field is a request parameter of the same name.
    """

    # Randomness of each token's choice: low enough for a faithful translation.
    temperature: float = 0.7
    # Nucleus sampling: tokens outside the most likely 60% of probability mass are never chosen.
    top_p: float = 0.6
    # And never more than the 20 most likely tokens (-1: no such limit).
    top_k: int = 20
    # Discourages the loops small translation models fall into on long texts (1.0: none).
    repetition_penalty: float = 1.05

    def as_params(self) -> dict[str, float | int]:
        # top_k and repetition_penalty are vLLM's extensions to the OpenAI API, accepted at the top level.
        return asdict(self)


# Hunyuan-MT, HY-MT1.5, Hy-MT2-1.8B and Hy-MT2-7B.
SAMPLING = Sampling()
# Hy-MT2-30B-A3B (its README, "Inference and Deployment").
SAMPLING_30B_A3B = Sampling(temperature=0.7, top_p=1.0, top_k=-1, repetition_penalty=1.0)
