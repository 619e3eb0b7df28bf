"""`hymt model fetch --hub modelscope`: ModelScope's HTTP API (the stand-in of tests/support/fake_hub.py speaks it as
ModelScope's own client calls it): the catalogue's ModelScope id, resume with byte ranges, and ModelScope's limits
(branches and tags only, so a moved branch is refused unless --update)."""

from __future__ import annotations

import io

import pytest

from hymt.core.exit import ExitStatus
from hymt.model.errors import HubFailed
from hymt.model.hubs.modelscope import ModelScopeHub
from hymt.model.manifest import read_manifest
from hymt.model.progress import Progress
from hymt.model.settings import HubSettings
from tests.model.conftest import FILES, LARGE, MS_REPO
from tests.model.test_fetch import assert_model

TOKEN = "ms-stand-in-token"


def fetch(hymt, hub, directory, *extra, repo=MS_REPO, **options):
    return hymt(
        "model", "fetch", repo, "--dir", directory, "--hub", "modelscope", "--endpoint", hub.url, *extra, **options
    )


def downloads(hub) -> list[str]:
    return [entry.path for entry in hub.log if "/repo?" in entry.path]


def test_fetches_every_file_verified_with_the_commit(hymt, hub, tmp_path):
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    # ModelScope's client leaves .gitattributes out; so does hymt.
    assert_model(tmp_path / "m", {path: data for path, data in FILES.items() if path != ".gitattributes"})
    manifest = read_manifest(tmp_path / "m")
    assert (manifest.hub, manifest.revision) == ("modelscope", "master")
    assert manifest.commit == hub.repos[MS_REPO.casefold()].refs["master"]
    assert hymt("model", "check", tmp_path / "m").code == 0


def test_the_catalogue_gives_the_modelscope_id_of_a_hugging_face_id(hymt, hub, tmp_path):
    hub.add_repo("Tencent-Hunyuan/Hunyuan-MT-7B", FILES, branch="master")
    run = fetch(hymt, hub, tmp_path / "m", repo="tencent/Hunyuan-MT-7B")
    assert run.code == 0, run.err
    assert "ModelScope id of tencent/Hunyuan-MT-7B: Tencent-Hunyuan/Hunyuan-MT-7B" in run.err
    assert read_manifest(tmp_path / "m").repo_id == "Tencent-Hunyuan/Hunyuan-MT-7B"
    assert all("/Tencent-Hunyuan/Hunyuan-MT-7B/" in entry.path for entry in hub.log)


def test_an_unconfirmed_modelscope_id_is_said_to_be_one(hymt, hub, tmp_path):
    run = fetch(hymt, hub, tmp_path / "m", repo="tencent/HY-MT1.5-1.8B")
    assert run.code == ExitStatus.NOT_FOUND
    assert "Tencent-Hunyuan/HY-MT1.5-1.8B (Tencent's naming, not confirmed)" in run.err
    assert f"{hub.url} has no model Tencent-Hunyuan/HY-MT1.5-1.8B" in run.err
    assert "check the ModelScope id" in run.err


def test_a_cut_connection_resumes_with_a_range_request(hymt, hub, tmp_path):
    hub.faults.cut_at[LARGE] = 1_234_567
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    (asked,) = hub.ranges("FilePath=model.safetensors")
    start = int(asked.removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= 1_234_567  # what arrived before the cut is kept (written a MiB at a time)
    assert "connection lost" in run.err and f"resuming at byte {start}" in run.err
    assert (tmp_path / "m" / LARGE).read_bytes() == FILES[LARGE]


def test_a_flipped_byte_is_refused(hymt, hub, tmp_path):
    hub.faults.flip.add(LARGE)
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.FAILURE
    assert f"{LARGE} from {hub.url} arrived with content that does not match" in run.err
    assert not (tmp_path / "m").exists()


def test_a_wrong_model(hymt, hub, tmp_path):
    run = fetch(hymt, hub, tmp_path / "m", repo="hymt-test/nothing")
    assert run.code == ExitStatus.NOT_FOUND
    assert f"{hub.url} has no model hymt-test/nothing" in run.err


def test_a_wrong_revision_lists_the_real_ones(hymt, hub, tmp_path):
    run = fetch(hymt, hub, tmp_path / "m", "--revision", "v9")
    assert run.code == ExitStatus.NOT_FOUND
    assert f"{MS_REPO} has no revision 'v9'" in run.err and "its branches or tags (--revision): master" in run.err


def test_a_commit_as_revision_is_explained(hymt, hub, tmp_path):
    commit = hub.repos[MS_REPO.casefold()].refs["master"]
    run = fetch(hymt, hub, tmp_path / "m", "--revision", commit)
    assert run.code == ExitStatus.NOT_FOUND
    assert "ModelScope downloads by branch or tag only, not by commit" in run.err


def test_a_refused_token(hymt, hub, tmp_path, monkeypatch):
    hub.repos[MS_REPO.casefold()].token = TOKEN
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", "ms-wrong")
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.ACCESS_DENIED
    assert f"ModelScope refused the token from MODELSCOPE_API_TOKEN for {MS_REPO}" in run.err
    assert "ms-wrong" not in run.output


def test_a_model_that_needs_a_token(hymt, hub, tmp_path):
    hub.repos[MS_REPO.casefold()].token = TOKEN
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.ACCESS_DENIED
    assert f"{MS_REPO} needs a ModelScope token" in run.err and "MODELSCOPE_API_TOKEN" in run.err


def test_a_moved_branch_is_refused_until_update(hymt, hub, tmp_path):
    assert fetch(hymt, hub, tmp_path / "m").code == 0
    recorded = read_manifest(tmp_path / "m").commit
    changed = {**FILES, "config.json": b"{}\n"}
    new = hub.repos[MS_REPO.casefold()].add_commit(changed, "master")
    (tmp_path / "m/config.json").unlink()  # a repair would now need a commit ModelScope no longer serves
    refused = fetch(hymt, hub, tmp_path / "m")
    assert refused.code == ExitStatus.NOT_FOUND
    assert f"master of {MS_REPO} has moved on ModelScope from the recorded commit {recorded[:12]} to {new[:12]}" in (
        refused.err
    )
    assert "pass --update" in refused.err
    updated = fetch(hymt, hub, tmp_path / "m", "--update")
    assert updated.code == 0, updated.err
    assert read_manifest(tmp_path / "m").commit == new
    assert (tmp_path / "m/config.json").read_bytes() == b"{}\n"


def test_switching_hubs_needs_update(hymt, hub, tmp_path):
    repo = hub.repos[MS_REPO.casefold()]
    repo.refs["main"] = repo.refs["master"]  # the stand-in serves the same id on its Hugging Face side
    assert fetch(hymt, hub, tmp_path / "m").code == 0
    run = hymt("model", "fetch", MS_REPO, "--dir", tmp_path / "m", "--endpoint", hub.url)
    assert run.code == ExitStatus.USAGE
    assert "commits on huggingface are not the same" in run.err and "--update" in run.err


def test_a_connection_that_keeps_dropping_gives_up_with_advice(hub, tmp_path):
    hub.faults.cut_every[LARGE] = 1_100_000  # every answer breaks off there
    notes: list[str] = []
    settings = HubSettings.resolve("modelscope", hub.url, env={})
    modelscope = ModelScopeHub(settings, note=notes.append, sleep=lambda seconds: None)
    revision = modelscope.resolve(MS_REPO, None)
    remote = next(file for file in modelscope.index(MS_REPO, revision) if file.path == LARGE)
    with open(tmp_path / "part", "ab") as out, pytest.raises(HubFailed, match="cannot reach") as raised:
        modelscope.download(MS_REPO, revision, remote, out, 0, Progress(io.StringIO(), tty=False).advance)
    assert "continues where it stopped" in raised.value.hint
    assert (tmp_path / "part").stat().st_size == 1 << 20  # what arrived (a MiB at a time) stays for the next run
    assert len(notes) == 5 and all("connection lost" in note for note in notes)
