"""The rehearsal model: Hunyuan-MT-7B's architecture, tiny and random, generated locally for CPU rehearsals.

No download, no torch: numpy makes the weights, tokenizers trains the tokenizer. vLLM serves it like the real model
(same architecture, chat format, sampling defaults); its answers are gibberish. `hymt rehearsal-model --out DIR` or
`python -m hymt.rehearsal --out DIR` writes it.
"""

from hymt.rehearsal.generate import GeneratedModel, RehearsalModelError, generate, is_complete
from hymt.rehearsal.spec import DEFAULT_SPEC, RehearsalSpec

__all__ = ["DEFAULT_SPEC", "GeneratedModel", "RehearsalModelError", "RehearsalSpec", "generate", "is_complete"]
