"""`hymt model check`: exit 0 only for a complete, intact model; each missing, short or corrupt file named; a clear
refusal without a manifest; `--adopt` for copies made by hand (against the hub's index, or as a local manifest);
`fetch --copy-from` for a model another directory holds; the rehearsal model passes."""

from __future__ import annotations

import io
import json

import pytest

from hymt.core.exit import ExitStatus
from hymt.model.fetch import staging_path
from hymt.model.manifest import MANIFEST_NAME, read_manifest
from hymt.model.progress import Progress
from hymt.rehearsal import generate
from tests.model.conftest import LARGE, REPO, copy_files, leftovers


@pytest.fixture
def model(hymt, hub, tmp_path):
    """A model fetched from the stand-in hub."""
    target = tmp_path / "tiny-mt"
    assert hymt("model", "fetch", REPO, "--dir", target, "--endpoint", hub.url).code == 0
    return target


def flip_a_byte(path, at: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(at)
        original = handle.read(1)
        handle.seek(at)
        handle.write(bytes([original[0] ^ 0x01]))


def test_a_complete_model_passes(hymt, model):
    run = hymt("model", "check", model)
    assert run.code == 0, run.err
    assert f"{model} holds {REPO} from huggingface (main, commit" in run.out
    assert "6 files, 2.0 MB, every size and SHA-256 matches" in run.out


def test_a_truncated_file_is_named(hymt, model):
    data = (model / LARGE).read_bytes()
    (model / LARGE).write_bytes(data[:1000])
    run = hymt("model", "check", model)
    assert run.code == ExitStatus.FAILURE == 1
    assert f"{model} is not complete: 1 of 6 files are missing, short or corrupt" in run.err
    assert f"{LARGE}: short: 1.0 kB (1000 bytes) instead of 2.0 MB (2000000)" in run.err
    assert f"hint: fetch the damaged files again: hymt model fetch {REPO} --dir {model}" in run.err


def test_a_flipped_byte_is_named(hymt, model):
    flip_a_byte(model / LARGE, 1_234_567)
    run = hymt("model", "check", model)
    assert run.code == ExitStatus.FAILURE
    assert f"{LARGE}: corrupt: SHA-256" in run.err


def test_a_missing_file_is_named(hymt, model):
    (model / "tokenizer/tokenizer_config.json").unlink()
    run = hymt("model", "check", model)
    assert run.code == ExitStatus.FAILURE
    assert "tokenizer/tokenizer_config.json: missing" in run.err


def test_every_damaged_file_is_named_at_once(hymt, model):
    (model / "config.json").unlink()
    (model / "README.md").write_text("edited")
    flip_a_byte(model / LARGE, 10)
    run = hymt("model", "check", model)
    assert run.code == ExitStatus.FAILURE
    assert "3 of 6 files" in run.err
    for named in ("config.json: missing", "README.md: short", f"{LARGE}: corrupt"):
        assert named in run.err


def test_quick_compares_sizes_only(hymt, model):
    flip_a_byte(model / LARGE, 99)
    quick = hymt("model", "check", model, "--quick")
    assert quick.code == 0 and "hashes not checked" in quick.out  # what --quick cannot see
    (model / "config.json").write_text("{}")
    assert hymt("model", "check", model, "--quick").code == ExitStatus.FAILURE


def test_files_beyond_the_manifest_are_a_warning(hymt, model):
    (model / "extra.bin").write_bytes(b"x")
    run = hymt("model", "check", model)
    assert run.code == 0
    assert "warning: 1 files are not in the manifest: extra.bin" in run.err


def test_json_output(hymt, model):
    (model / "config.json").unlink()
    run = hymt("model", "check", model, "--json")
    assert run.code == ExitStatus.FAILURE
    report = json.loads(run.out)
    assert report["ok"] is False and report["repo_id"] == REPO and report["hub"] == "huggingface"
    assert report["problems"] == [{"path": "config.json", "kind": "missing", "detail": "missing"}]


def test_a_directory_without_a_manifest_is_refused_saying_how_to_make_one(hymt, tmp_path):
    copy_files(tmp_path / "m")
    run = hymt("model", "check", tmp_path / "m")
    assert run.code == ExitStatus.NOT_FOUND == 3
    assert f"{tmp_path / 'm'} has no manifest ({MANIFEST_NAME})" in run.err
    assert f"hymt model fetch REPO_ID --dir {tmp_path / 'm'}" in run.err
    assert f"hymt model check {tmp_path / 'm'} --adopt REPO_ID" in run.err


def test_a_missing_directory(hymt, tmp_path):
    run = hymt("model", "check", tmp_path / "nothing")
    assert run.code == ExitStatus.NOT_FOUND
    assert "does not exist" in run.err


def test_an_unreadable_manifest(hymt, model):
    (model / MANIFEST_NAME).write_text("{not json")
    run = hymt("model", "check", model)
    assert run.code == ExitStatus.FAILURE
    assert "is not valid JSON" in run.err and "--adopt" in run.err


def test_a_manifest_cannot_point_outside_the_directory(hymt, model):
    manifest = json.loads((model / MANIFEST_NAME).read_text())
    manifest["files"][0]["path"] = "../../etc/passwd"
    (model / MANIFEST_NAME).write_text(json.dumps(manifest))
    run = hymt("model", "check", model)
    assert run.code == ExitStatus.FAILURE
    assert "unsafe file path '../../etc/passwd'" in run.err


# --- --adopt -------------------------------------------------------------------------------------------------------
def test_adopting_a_copy_made_by_hand_checks_it_against_the_hub(hymt, hub, tmp_path):
    copy_files(tmp_path / "m")
    run = hymt("model", "check", tmp_path / "m", "--adopt", REPO, "--endpoint", hub.url)
    assert run.code == 0, run.err
    assert f"adopted {tmp_path / 'm'}: it holds {REPO} from huggingface (main, commit" in run.out
    manifest = read_manifest(tmp_path / "m")
    assert manifest.hub == "huggingface" and manifest.commit == hub.repos[REPO.casefold()].refs["main"]
    assert hymt("model", "check", tmp_path / "m").code == 0
    # Nothing was downloaded: adopting only reads the index.
    assert not [entry for entry in hub.log if "/resolve/" in entry.path or "/cdn/" in entry.path]


@pytest.mark.parametrize("damage", ["missing", "flipped"])
def test_adopting_an_incomplete_or_corrupt_copy_fails_and_writes_no_manifest(hymt, hub, tmp_path, damage):
    copy_files(tmp_path / "m")
    if damage == "missing":
        (tmp_path / "m" / LARGE).unlink()
    else:
        flip_a_byte(tmp_path / "m/config.json", 3)  # a small file: checked against its git object id
    run = hymt("model", "check", tmp_path / "m", "--adopt", REPO, "--endpoint", hub.url)
    assert run.code == ExitStatus.FAILURE
    named = f"{LARGE}: missing" if damage == "missing" else "config.json: does not match the index (its hash differs)"
    assert named in run.err
    assert f"hymt model fetch {REPO} --dir" in run.err
    assert not (tmp_path / "m" / MANIFEST_NAME).exists()


def test_a_local_manifest_records_the_files_as_they_are(hymt, tmp_path):
    copy_files(tmp_path / "m")
    run = hymt("model", "check", tmp_path / "m", "--adopt", "my/model", "--hub", "local")
    assert run.code == 0, run.err
    assert "wrote a local manifest for 6 files" in run.out and "not whether they match a hub" in run.out
    manifest = read_manifest(tmp_path / "m")
    assert (manifest.hub, manifest.commit) == ("local", None)
    passed = hymt("model", "check", tmp_path / "m")
    assert passed.code == 0 and "local manifest" in passed.out
    flip_a_byte(tmp_path / "m" / LARGE, 5)
    damaged = hymt("model", "check", tmp_path / "m")
    assert damaged.code == ExitStatus.FAILURE
    assert "its manifest is local: there is no hub to ask" in damaged.err


def test_adopting_a_directory_that_has_a_manifest_is_refused(hymt, model):
    run = hymt("model", "check", model, "--adopt", REPO, "--hub", "local")
    assert run.code == ExitStatus.USAGE
    assert "already has a manifest" in run.err


def test_hub_options_without_adopt_are_a_usage_error(hymt, model):
    run = hymt("model", "check", model, "--hub", "modelscope")
    assert run.code == ExitStatus.USAGE
    assert "only with --adopt" in run.err


# --- copies from another directory ------------------------------------------------------------------------------------
def test_a_model_is_copied_from_a_directory_with_its_manifest(hymt, model, tmp_path):
    run = hymt("model", "fetch", REPO, "--dir", tmp_path / "copy", "--copy-from", model)
    assert run.code == 0, run.err
    assert hymt("model", "check", tmp_path / "copy").code == 0
    original, copy = read_manifest(model), read_manifest(tmp_path / "copy")
    assert (copy.hub, copy.commit, copy.files) == (original.hub, original.commit, original.files)
    assert copy.source.startswith(f"copied from {model}")


def test_a_damaged_source_is_not_copied(hymt, model, tmp_path):
    flip_a_byte(model / LARGE, 77)
    run = hymt("model", "fetch", REPO, "--dir", tmp_path / "copy", "--copy-from", model)
    assert run.code == ExitStatus.FAILURE
    assert f"{LARGE} from {model} arrived with content that does not match" in run.err
    assert not (tmp_path / "copy").exists()


def test_a_copy_must_be_of_the_model_asked_for(hymt, model, tmp_path):
    run = hymt("model", "fetch", "tencent/Hunyuan-MT-7B", "--dir", tmp_path / "copy", "--copy-from", model)
    assert run.code == ExitStatus.USAGE
    assert f"holds {REPO}, not tencent/Hunyuan-MT-7B" in run.err


def test_a_source_without_a_manifest_is_refused(hymt, tmp_path):
    copy_files(tmp_path / "src")
    run = hymt("model", "fetch", REPO, "--dir", tmp_path / "copy", "--copy-from", tmp_path / "src")
    assert run.code == ExitStatus.NOT_FOUND
    assert "has no manifest, so its files cannot be verified" in run.err and "--adopt" in run.err


def test_the_rehearsal_model_passes_and_copies_like_any_model(hymt, tmp_path):
    generate(tmp_path / "hymt-rehearsal")
    run = hymt("model", "check", tmp_path / "hymt-rehearsal")
    assert run.code == 0, run.err
    assert "hymt-rehearsal (local manifest: generated locally by hymt rehearsal-model)" in run.out
    copied = hymt(
        "model", "fetch", "hymt-rehearsal", "--dir", tmp_path / "host/m", "--copy-from", tmp_path / "hymt-rehearsal"
    )
    assert copied.code == 0, copied.err
    assert hymt("model", "check", tmp_path / "host/m").code == 0
    assert leftovers(tmp_path / "host") == ["m"]
    assert not staging_path(tmp_path / "host/m").exists()


# --- progress ---------------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_line_progress_reports_bytes_rate_and_time_left_at_an_interval():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=False, interval=10, clock=clock)
    progress.start(total=100_000_000)
    progress.start_file("model.safetensors", 100_000_000)
    clock.now = 5
    progress.advance(10_000_000)  # within the interval: no line
    clock.now = 10
    progress.advance(10_000_000)
    progress.end_file("verified")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "hymt: fetching model.safetensors (100.0 MB)",
        "hymt: model.safetensors: 20.0 MB of 100.0 MB (20%); total 20.0 MB of 100.0 MB (20%), 2.0 MB/s, 40 s left",
        "hymt: model.safetensors: verified",
    ]


def test_a_terminal_gets_one_redrawn_bar():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=True, clock=clock)
    progress.start(total=1000, already=500)
    progress.start_file("a.bin", 1000, offset=500)
    for second in range(1, 6):
        clock.now = second
        progress.advance(100)
    progress.end_file("verified")
    text = stream.getvalue()
    assert text.count("\r[") == 5 and "[########################] total 1.0 kB of 1.0 kB (100%)" in text
    assert text.endswith("hymt: a.bin: verified\n")
