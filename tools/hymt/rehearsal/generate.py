"""Write the rehearsal model into a directory, once.

The directory gets a manifest (hymt-rehearsal.json) with the generator version, the spec, a digest of the other inputs
(the training corpus, which includes the project's prompts, and the chat template) and each file's SHA-256. A
directory whose manifest matches and whose files are all present and intact is left alone; anything else the
generator made is regenerated. Files are written into a sibling temporary directory and moved into place at the end,
so an interrupted run never leaves a half-written model where vLLM would load it. A directory the generator did not
make is never overwritten unless asked (`force`).

It also gets the manifest every model directory of a deployment carries (hymt-model.json, hub "local": there is no
hub to compare with), so that `hymt model check` passes on it and the model role copies it like any other model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hymt.core.catalogue import REHEARSAL_MODEL_ID
from hymt.model.check import local_manifest
from hymt.model.errors import ModelError
from hymt.model.manifest import ManifestFile, replace_directory, write_manifest
from hymt.model.manifest import read_manifest as read_model_manifest
from hymt.rehearsal.chat_template import CHAT_TEMPLATE
from hymt.rehearsal.corpus import training_corpus
from hymt.rehearsal.spec import (
    ARCHITECTURE,
    DEFAULT_SPEC,
    GENERATOR_VERSION,
    SPECIAL_TOKENS,
    RehearsalSpec,
    generation_config,
    model_config,
)

MANIFEST = "hymt-rehearsal.json"
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


class RehearsalModelError(Exception):
    """The model could not be written; the message says what to do."""


@dataclass(frozen=True)
class GeneratedModel:
    path: Path
    generated: bool  # False when a complete model of the same spec was already there
    size_bytes: int


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_digest() -> str:
    """SHA-256 of what shapes the files besides the spec: a prompt or template change then regenerates the model."""
    digest = hashlib.sha256(CHAT_TEMPLATE.encode())
    for line in training_corpus():
        digest.update(b"\0" + line.encode())
    return digest.hexdigest()


def manifest_for(spec: RehearsalSpec, files: dict[str, str]) -> dict[str, object]:
    return {
        "generator": "hymt rehearsal-model",
        "generator_version": GENERATOR_VERSION,
        "architecture": ARCHITECTURE,
        "spec": spec.as_dict(),
        "inputs_sha256": inputs_digest(),
        "files": files,
    }


def read_manifest(directory: Path) -> dict[str, object] | None:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_complete(directory: Path, spec: RehearsalSpec) -> bool:
    """True when `directory` holds every file of a model of this spec and generator version, unaltered."""
    manifest = read_manifest(directory)
    if manifest is None:
        return False
    files = manifest.get("files")
    if manifest.get("generator_version") != GENERATOR_VERSION or manifest.get("spec") != spec.as_dict():
        return False
    if manifest.get("inputs_sha256") != inputs_digest():
        return False
    if not isinstance(files, dict) or set(files) != set(MODEL_FILES):
        return False
    intact = all(
        (directory / name).is_file() and sha256_of(directory / name) == digest for name, digest in files.items()
    )
    return intact and _model_manifest_matches(directory)


def _model_manifest_matches(directory: Path) -> bool:
    """Whether hymt-model.json lists exactly the generated files with their present hashes."""
    try:
        manifest = read_model_manifest(directory)
    except ModelError:  # an unreadable manifest: regenerate
        return False
    if manifest is None or manifest.repo_id != REHEARSAL_MODEL_ID:
        return False
    listed = {entry.path: (entry.size, entry.sha256) for entry in manifest.files}
    names = (*MODEL_FILES, MANIFEST)
    return set(listed) == set(names) and all(
        listed[name] == ((directory / name).stat().st_size, sha256_of(directory / name)) for name in names
    )


def _dump_json(path: Path, data: dict[str, object]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def write_model(directory: Path, spec: RehearsalSpec) -> None:
    """Write every model file and the manifest into the existing empty `directory`."""
    # Imported here so that `hymt` without the model extra still starts, and says what is missing when it matters.
    from hymt.rehearsal.tokenizer import special_token_map, tokenizer_config, train_tokenizer
    from hymt.rehearsal.weights import random_weights, write_safetensors

    tokenizer = train_tokenizer(spec)
    token_ids = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)

    tokenizer.save(str(directory / "tokenizer.json"))
    _dump_json(directory / "tokenizer_config.json", tokenizer_config(token_ids, spec.max_position_embeddings))
    _dump_json(directory / "special_tokens_map.json", special_token_map())
    _dump_json(directory / "config.json", model_config(spec, vocab_size, token_ids))
    _dump_json(directory / "generation_config.json", generation_config(token_ids))
    metadata = {"format": "pt", "generator": "hymt rehearsal-model", "seed": str(spec.seed)}
    write_safetensors(directory / "model.safetensors", random_weights(spec, vocab_size), metadata)
    _dump_json(directory / MANIFEST, manifest_for(spec, {name: sha256_of(directory / name) for name in MODEL_FILES}))
    entries = [
        ManifestFile(name, (directory / name).stat().st_size, sha256_of(directory / name))
        for name in sorted((*MODEL_FILES, MANIFEST))
    ]
    write_manifest(directory, local_manifest(REHEARSAL_MODEL_ID, entries, "generated locally by hymt rehearsal-model"))


def generate(out: Path, spec: RehearsalSpec = DEFAULT_SPEC, *, force: bool = False) -> GeneratedModel:
    """Make `out` hold the rehearsal model of `spec`; do nothing when it already does."""
    out = Path(out).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise RehearsalModelError(f"{out} exists and is not a directory; choose another --out")
    if out.is_dir() and is_complete(out, spec):
        return GeneratedModel(out, generated=False, size_bytes=_size(out))
    if out.is_dir() and any(out.iterdir()) and read_manifest(out) is None and not force:
        raise RehearsalModelError(
            f"{out} is not empty and was not made by 'hymt rehearsal-model'; choose an empty or new directory, "
            "or pass --force to replace its contents"
        )
    try:
        import numpy  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as missing:
        raise RehearsalModelError(
            f"generating the rehearsal model needs {missing.name}: install the 'model' extra "
            "(pip install -e '.[model]', or 'make setup')"
        ) from None

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as error:
        raise RehearsalModelError(f"cannot write next to {out}: {error.strerror}; choose a writable --out") from None
    try:
        write_model(staging, spec)
        staging.chmod(0o755)  # mkdtemp makes it private; containers read the model as another user
        replace_directory(staging, out)
    except OSError as error:
        raise RehearsalModelError(f"writing the rehearsal model into {out} failed: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return GeneratedModel(out, generated=True, size_bytes=_size(out))


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir() if path.is_file())
