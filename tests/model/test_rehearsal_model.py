"""The rehearsal model generator: complete, deterministic output with Hunyuan-MT-7B's architecture and chat format.

vLLM loading and serving the model is tested in tests/vllm; these tests check the files themselves, the way
transformers and vLLM read them, without either installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

from hymt.core.languages import LANGUAGES
from hymt.core.prompts import SAMPLING, build_prompt
from hymt.model.manifest import MANIFEST_NAME
from hymt.rehearsal import DEFAULT_SPEC, RehearsalModelError, RehearsalSpec, generate, is_complete
from hymt.rehearsal.corpus import SENTENCES
from hymt.rehearsal.generate import MANIFEST, MODEL_FILES
from hymt.rehearsal.weights import from_bf16_bytes, to_bf16_bytes
from tests.support.repo import ROOT


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rehearsal") / "hymt-rehearsal"
    result = generate(out)
    assert result.generated
    return out


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def safetensors_header(path: Path) -> dict:
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + length])


def render_chat(model_dir: Path, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """Render the chat template as transformers' apply_chat_template does (vLLM uses the same renderer)."""
    config = read_json(model_dir / "tokenizer_config.json")
    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    environment.globals["raise_exception"] = raise_exception
    template = environment.from_string(config["chat_template"])
    return template.render(
        messages=messages,
        add_generation_prompt=add_generation_prompt,
        bos_token=config["bos_token"],
        eos_token=config["eos_token"],
        pad_token=config["pad_token"],
    )


# --- completeness, determinism, idempotency -------------------------------------------------------------------------


def test_writes_every_file_a_model_directory_needs(model_dir):
    assert {path.name for path in model_dir.iterdir()} == {*MODEL_FILES, MANIFEST, MANIFEST_NAME}
    assert is_complete(model_dir, DEFAULT_SPEC)
    size = sum((model_dir / name).stat().st_size for name in MODEL_FILES)
    assert 500_000 < size < 5_000_000, f"the rehearsal model should be a few MB, not {size} bytes"
    assert not list(model_dir.parent.glob(".*tmp-*")), "the staging directory was left behind"


def test_same_spec_gives_byte_identical_files(model_dir, tmp_path):
    generate(tmp_path / "again")
    for name in MODEL_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (model_dir / name).read_bytes(), name


def test_another_seed_gives_other_weights_and_the_same_tokenizer(model_dir, tmp_path):
    generate(tmp_path / "other", RehearsalSpec(seed=7))
    assert (tmp_path / "other/model.safetensors").read_bytes() != (model_dir / "model.safetensors").read_bytes()
    assert (tmp_path / "other/tokenizer.json").read_bytes() == (model_dir / "tokenizer.json").read_bytes()


def test_a_complete_model_is_left_alone(tmp_path):
    out = tmp_path / "model"
    generate(out)
    stamps = {name: (out / name).stat().st_mtime_ns for name in MODEL_FILES}
    again = generate(out)
    assert not again.generated
    assert {name: (out / name).stat().st_mtime_ns for name in MODEL_FILES} == stamps


def test_a_damaged_or_partial_model_is_regenerated(tmp_path):
    out = tmp_path / "model"
    generate(out)
    original = (out / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(original[: len(original) // 2])  # an interrupted copy
    (out / "tokenizer.json").unlink()
    assert not is_complete(out, DEFAULT_SPEC)
    assert generate(out).generated
    assert (out / "model.safetensors").read_bytes() == original
    assert is_complete(out, DEFAULT_SPEC)


def test_a_model_of_another_spec_is_replaced(tmp_path):
    out = tmp_path / "model"
    generate(out, RehearsalSpec(seed=7))
    assert not is_complete(out, DEFAULT_SPEC)
    assert generate(out).generated
    assert is_complete(out, DEFAULT_SPEC)


def test_a_real_model_with_its_manifest_is_never_replaced_by_the_rehearsal_model(tmp_path):
    from hymt.model.check import local_manifest
    from hymt.model.manifest import write_manifest

    out = tmp_path / "HY-MT1.5-1.8B"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"weights")
    write_manifest(out, local_manifest("tencent/HY-MT1.5-1.8B", [], "fetched"))
    with pytest.raises(RehearsalModelError, match=r"not made by 'hymt rehearsal-model'"):
        generate(out)
    assert (out / "model.safetensors").read_bytes() == b"weights"


def test_a_directory_it_did_not_make_is_not_overwritten(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RehearsalModelError, match=r"not made by 'hymt rehearsal-model'.*--force"):
        generate(out)
    assert (out / "notes.txt").read_text() == "mine"
    assert generate(out, force=True).generated
    assert not (out / "notes.txt").exists()
    assert is_complete(out, DEFAULT_SPEC)


def test_an_empty_directory_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert generate(tmp_path / "empty").generated


def test_a_file_in_the_way_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RehearsalModelError, match="not a directory"):
        generate(tmp_path / "file")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    return subprocess.run(
        [sys.executable, "-m", "hymt.rehearsal", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_command_line_generates_then_reports_it_is_complete(tmp_path):
    first = run_cli("--out", str(tmp_path / "m"))
    assert first.returncode == 0, first.stderr
    assert "generated" in first.stdout and str(tmp_path / "m") in first.stdout
    second = run_cli("--out", str(tmp_path / "m"))
    assert second.returncode == 0, second.stderr
    assert "already complete" in second.stdout


def test_command_line_errors_say_what_to_do_without_a_traceback(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/data").write_text("x")
    result = run_cli("--out", str(tmp_path / "taken"))
    assert result.returncode == 2
    assert "error:" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_cli()
    assert missing.returncode == 2 and "--out" in missing.stderr


# --- architecture -------------------------------------------------------------------------------------------------


def test_config_declares_hunyuan_mt_architecture(model_dir):
    config = read_json(model_dir / "config.json")
    assert config["architectures"] == ["HunYuanDenseV1ForCausalLM"]
    assert config["model_type"] == "hunyuan_v1_dense"
    assert config["torch_dtype"] == "bfloat16"
    assert config["tie_word_embeddings"] is True
    assert config["use_qk_norm"] is True and config["use_cla"] is False
    assert config["hidden_act"] == "silu"
    assert config["attention_bias"] is False and config["mlp_bias"] is False
    assert config["max_position_embeddings"] == 32768
    # Hunyuan's dynamic NTK-alpha RoPE, in the checkpoint's legacy keys; transformers >= 5.16 needs "factor" too.
    assert config["rope_theta"] == 10000.0
    assert config["rope_scaling"] == {"type": "dynamic", "alpha": 1000.0, "factor": 1.0}
    assert "num_experts" not in config, "a dense model: vLLM's hunyuan_v1 treats num_experts > 1 as MoE"
    sizes = {key: config[key] for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "head_dim")}
    assert sizes == {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "head_dim": 128}
    assert config["num_key_value_heads"] == 1


def test_weights_match_the_config_in_bf16(model_dir):
    config = read_json(model_dir / "config.json")
    header = safetensors_header(model_dir / "model.safetensors")
    metadata = header.pop("__metadata__")
    assert metadata["format"] == "pt"
    hidden, head_dim, layers = config["hidden_size"], config["head_dim"], config["num_hidden_layers"]
    q_width = config["num_attention_heads"] * head_dim
    kv_width = config["num_key_value_heads"] * head_dim
    expected = {"model.embed_tokens.weight": [config["vocab_size"], hidden], "model.norm.weight": [hidden]}
    for layer in range(layers):
        p = f"model.layers.{layer}"
        expected |= {
            f"{p}.input_layernorm.weight": [hidden],
            f"{p}.post_attention_layernorm.weight": [hidden],
            f"{p}.self_attn.q_proj.weight": [q_width, hidden],
            f"{p}.self_attn.k_proj.weight": [kv_width, hidden],
            f"{p}.self_attn.v_proj.weight": [kv_width, hidden],
            f"{p}.self_attn.o_proj.weight": [hidden, q_width],
            f"{p}.self_attn.query_layernorm.weight": [head_dim],
            f"{p}.self_attn.key_layernorm.weight": [head_dim],
            f"{p}.mlp.gate_proj.weight": [config["intermediate_size"], hidden],
            f"{p}.mlp.up_proj.weight": [config["intermediate_size"], hidden],
            f"{p}.mlp.down_proj.weight": [hidden, config["intermediate_size"]],
        }
    assert {name: entry["shape"] for name, entry in header.items()} == expected
    assert {entry["dtype"] for entry in header.values()} == {"BF16"}
    assert "lm_head.weight" not in header, "embeddings are tied, as in Hunyuan-MT-7B"


def test_weights_file_is_valid_safetensors_with_sensible_values(model_dir):
    tensors = dict(safetensors.deserialize((model_dir / "model.safetensors").read_bytes()))
    embeddings = tensors["model.embed_tokens.weight"]
    values = from_bf16_bytes(bytes(embeddings["data"]), tuple(embeddings["shape"]))
    assert np.isfinite(values).all()
    assert 0.015 < float(values.std()) < 0.025  # initializer_range 0.02
    norm = tensors["model.norm.weight"]
    assert (from_bf16_bytes(bytes(norm["data"]), tuple(norm["shape"])) == 1.0).all()


def test_bf16_rounds_to_nearest_even():
    values = np.array([1.0, -2.0, 0.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-12, 3.14159265], dtype=np.float32)
    encoded = np.frombuffer(to_bf16_bytes(values), dtype="<u2")
    # 1+2^-8 lies halfway between 1.0 and 1+2^-7: ties go to the even mantissa (1.0); 1+3*2^-8 goes up to 1+2^-6.
    assert [hex(v) for v in encoded[:6]] == ["0x3f80", "0xc000", "0x0", "0x3f80", "0x3f82", "0x3f81"]
    decoded = from_bf16_bytes(to_bf16_bytes(values), values.shape)
    assert np.allclose(decoded, values, rtol=2**-8, atol=0)


def test_vocabulary_and_special_token_ids_agree_everywhere(model_dir):
    config = read_json(model_dir / "config.json")
    generation = read_json(model_dir / "generation_config.json")
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    assert tokenizer.get_vocab_size(with_added_tokens=True) == config["vocab_size"]
    assert 512 <= config["vocab_size"] <= 2048
    for key, token in (("bos_token_id", "<|startoftext|>"), ("eos_token_id", "<|eos|>"), ("pad_token_id", "<|pad|>")):
        assert config[key] == generation[key] == tokenizer.token_to_id(token), key


def test_generation_config_carries_tencents_sampling(model_dir):
    generation = read_json(model_dir / "generation_config.json")
    assert generation["do_sample"] is True
    assert {key: generation[key] for key in SAMPLING.as_params()} == SAMPLING.as_params()
    assert (generation["top_k"], generation["top_p"], generation["temperature"]) == (20, 0.6, 0.7)
    assert generation["repetition_penalty"] == 1.05


# --- chat template and tokenizer ------------------------------------------------------------------------------------


def test_chat_template_renders_a_translation_prompt_as_hunyuan_mt_does(model_dir):
    prompt = build_prompt("今天天气很好。", "en")
    rendered = render_chat(model_dir, prompt.messages())
    assert rendered == "<|startoftext|>把下面的文本翻译成英语，不要额外解释。\n\n今天天气很好。<|extra_0|>"


def test_chat_template_renders_system_and_earlier_turns(model_dir):
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "U2"},
    ]
    rendered = render_chat(model_dir, messages)
    assert rendered == "<|startoftext|>S<|extra_4|>U1<|extra_0|>A1<|eos|><|startoftext|>U2<|extra_0|>"
    assert render_chat(model_dir, messages[1:2], add_generation_prompt=False) == "<|startoftext|>U1<|extra_0|>"


@pytest.mark.parametrize(
    ("messages", "complaint"),
    [
        ([{"role": "user", "content": "U"}, {"role": "system", "content": "S"}], "only as the first"),
        ([{"role": "tool", "content": "T"}], "no tool role"),
    ],
)
def test_chat_template_refuses_what_hunyuan_mt_cannot_take(model_dir, messages, complaint):
    with pytest.raises(TemplateError, match=complaint):
        render_chat(model_dir, messages)


def test_rendered_prompt_tokenizes_with_whole_special_tokens(model_dir):
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    prompt = build_prompt("Good morning, how are you?", "fr")
    rendered = render_chat(model_dir, prompt.messages())
    encoding = tokenizer.encode(rendered, add_special_tokens=False)
    assert encoding.tokens[0] == "<|startoftext|>" and encoding.tokens[-1] == "<|extra_0|>"
    assert tokenizer.decode(encoding.ids, skip_special_tokens=True) == prompt.text
    # Trained on the prompts: their fixed words take far fewer tokens than bytes.
    assert len(encoding.ids) < len(rendered.encode()) / 3


@pytest.mark.parametrize("language", [language.code for language in LANGUAGES])
def test_tokenizer_round_trips_every_language(model_dir, language):
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    for text in (*SENTENCES[language], build_prompt(SENTENCES[language][0], "zh" if language != "zh" else "en").text):
        assert tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False) == text


def test_tokenizer_round_trips_text_it_never_saw(model_dir):
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    for text in ("🙂 naïve café 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∮ E⋅da = Q", "  leading spaces\ttabs\r\nand CRLF  ", "ᚠᛇᚻ᛫ᛒᛦᚦ ꦲꦏ꧀ꦱꦫ"):
        assert tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False) == text


def test_tokenizer_config_names_the_special_tokens_and_adds_none_itself(model_dir):
    config = read_json(model_dir / "tokenizer_config.json")
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert (config["bos_token"], config["eos_token"], config["pad_token"]) == ("<|startoftext|>", "<|eos|>", "<|pad|>")
    assert config["add_bos_token"] is False, "the chat template writes <|startoftext|> itself"
    specials = {entry["content"] for entry in config["added_tokens_decoder"].values() if entry["special"]}
    assert {"<|startoftext|>", "<|eos|>", "<|pad|>", "<|extra_0|>", "<|extra_4|>"} <= specials
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    for token_id, entry in config["added_tokens_decoder"].items():
        assert tokenizer.token_to_id(entry["content"]) == int(token_id)
    assert tokenizer.encode("hello", add_special_tokens=True).tokens[0] != "<|startoftext|>"


def test_hymt_command_has_the_generator(tmp_path, capsys):
    from hymt.cli.main import main

    assert main(["rehearsal-model", "--out", str(tmp_path / "m")]) == 0
    assert is_complete(tmp_path / "m", DEFAULT_SPEC)
    assert "generated" in capsys.readouterr().out
    (tmp_path / "other").mkdir()
    (tmp_path / "other/file").write_text("x")
    assert main(["rehearsal-model", "--out", str(tmp_path / "other")]) == 2
    assert "--force" in capsys.readouterr().err


def test_a_model_made_from_other_prompts_or_template_is_regenerated(tmp_path):
    out = tmp_path / "model"
    generate(out)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["inputs_sha256"] = "0" * 64  # as written by a generator whose corpus or chat template differed
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert not is_complete(out, DEFAULT_SPEC)
    assert generate(out).generated
