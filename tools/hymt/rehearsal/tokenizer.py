"""A small byte-level BPE tokenizer with Hunyuan-MT's special tokens and chat template.

Byte-level BPE (as Hunyuan's own tokenizer) encodes any text losslessly; the merges are trained on the built-in
multilingual corpus so that prompts take a sensible number of tokens.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from hymt.rehearsal.chat_template import CHAT_TEMPLATE
from hymt.rehearsal.corpus import training_corpus
from hymt.rehearsal.spec import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, SPECIAL_TOKENS, RehearsalSpec


def train_tokenizer(spec: RehearsalSpec) -> Tokenizer:
    """Byte-level BPE with Hunyuan-MT's special tokens first (ids 0..7), trained on the built-in corpus."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_corpus(), trainer=trainer)
    return tokenizer


def tokenizer_config(token_ids: dict[str, int], model_max_length: int) -> dict[str, object]:
    """tokenizer_config.json: a fast tokenizer, its special tokens, the chat template; no BOS added implicitly."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "pad_token": PAD_TOKEN,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "added_tokens_decoder": {
            str(token_ids[token]): {
                "content": token,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for token in SPECIAL_TOKENS
        },
        "chat_template": CHAT_TEMPLATE,
    }


def special_token_map() -> dict[str, str]:
    """special_tokens_map.json (older transformers read the special tokens from here)."""
    return {"bos_token": BOS_TOKEN, "eos_token": EOS_TOKEN, "pad_token": PAD_TOKEN}
