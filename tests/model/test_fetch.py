"""`hymt model fetch` from Hugging Face's API (the stand-in hub of tests/support/fake_hub.py): complete and verified,
resumable after a cut or a kill, never half-used, every failure a clear message and exit code."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from hymt.core.exit import ExitStatus
from hymt.model.fetch import staging_path
from hymt.model.manifest import MANIFEST_NAME, read_manifest
from tests.conftest import require
from tests.model.conftest import FILES, LARGE, REPO, copy_files, leftovers
from tests.support.fake_hub import tiny_repository
from tests.support.net import free_port, wait_until

Usage = namedtuple("Usage", "total used free")
TOKEN = "hf_stand-in-token-0123456789"


def fetch(hymt, hub, directory: Path, *extra: str, **options):
    return hymt("model", "fetch", REPO, "--dir", directory, "--endpoint", hub.url, *extra, **options)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_model(directory: Path, files: dict[str, bytes] = FILES) -> None:
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    assert on_disk == {*files, MANIFEST_NAME}
    for path, data in files.items():
        assert (directory / path).read_bytes() == data, path


def resolve_gets(hub) -> list[str]:
    return [
        entry.path
        for entry in hub.log
        if entry.method == "GET" and ("/resolve/" in entry.path or "/cdn/" in entry.path)
    ]


# --- a complete fetch ------------------------------------------------------------------------------------------------
def test_fetches_every_file_and_records_each_hash_and_the_commit(hymt, hub, tmp_path):
    target = tmp_path / "models" / "tiny-mt"
    run = fetch(hymt, hub, target)
    assert run.code == 0, run.err
    assert_model(target)
    manifest = json.loads((target / MANIFEST_NAME).read_text())
    commit = hub.repos[REPO.casefold()].refs["main"]
    assert (manifest["repo_id"], manifest["hub"], manifest["revision"], manifest["commit"]) == (
        REPO,
        "huggingface",
        "main",
        commit,
    )
    assert {entry["path"]: (entry["size"], entry["sha256"]) for entry in manifest["files"]} == {
        path: (len(data), sha256(data)) for path, data in FILES.items()
    }
    assert manifest["total_size"] == sum(len(data) for data in FILES.values())
    assert f"fetched {REPO} from huggingface (main, commit {commit[:12]})" in run.out
    # Nothing left behind but DIR (and the lock file next to it).
    assert leftovers(target.parent) == ["tiny-mt"]
    # The large file came from the "CDN" (another origin), the others from the hub itself.
    assert any("/cdn/" in path for path in resolve_gets(hub))


def test_the_token_goes_to_the_hub_but_not_to_the_cdn(hymt, hub, tmp_path, monkeypatch):
    hub.repos[REPO.casefold()].token = TOKEN
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    api = [entry for entry in hub.log if "/cdn/" not in entry.path]
    cdn = [entry for entry in hub.log if "/cdn/" in entry.path]
    assert api and all(entry.authorized for entry in api)
    assert cdn and not any(entry.authorized for entry in cdn)
    assert TOKEN not in run.output


def test_a_second_fetch_finds_the_model_complete_and_downloads_nothing(hymt, hub, tmp_path):
    assert fetch(hymt, hub, tmp_path / "m").code == 0
    hub.log.clear()
    again = fetch(hymt, hub, tmp_path / "m")
    assert again.code == 0, again.err
    assert "is already complete" in again.out
    assert resolve_gets(hub) == []


# --- resumable -------------------------------------------------------------------------------------------------------
def test_a_cut_connection_resumes_with_a_range_request(hymt, hub, tmp_path):
    hub.faults.cut_at[LARGE] = 1_500_000
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    assert_model(tmp_path / "m")
    ranges = hub.ranges("/cdn/")
    assert ranges, [str(entry) for entry in hub.log]
    start = int(ranges[-1].removeprefix("bytes=").split("-")[0])
    assert 0 < start <= 1_500_000, ranges  # continued from what it had, not from zero
    assert "resume" in run.err  # the user is told


def test_a_killed_fetch_continues_where_it_stopped(hub, tmp_path):
    target = tmp_path / "m"
    hub.faults.delay_per_chunk[LARGE] = 0.1  # about 3 s for the large file: time to kill it halfway
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}
    command = [sys.executable, "-m", "hymt.cli.main", "model", "fetch", REPO, "--dir", str(target)]
    command += ["--endpoint", hub.url]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = staging_path(target) / (LARGE + ".hymt-part")
    try:
        wait_until(lambda: part.exists() and part.stat().st_size >= 1 << 20, "a MiB of the large file", timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not target.exists(), "a killed fetch left something where vLLM would load it"
    kept = part.stat().st_size
    hub.faults.delay_per_chunk.clear()
    hub.log.clear()
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert_model(target)
    assert hub.ranges("/cdn/") == [f"bytes={kept}-"]
    assert f"resuming at {kept / 1e6:.1f} MB" in second.stderr
    # The small files finished before the kill were not downloaded again.
    assert [path for path in resolve_gets(hub) if "/resolve/" in path] == []


# --- verified, never half-used ---------------------------------------------------------------------------------------
def test_a_mirror_serving_a_flipped_byte_is_refused_and_nothing_reaches_dir(hymt, hub, tmp_path):
    hub.faults.flip.add(LARGE)
    target = tmp_path / "m"
    run = fetch(hymt, hub, target)
    assert run.code == ExitStatus.FAILURE, run.output
    assert f"{LARGE} from {hub.url} arrived with content that does not match the hash in the index" in run.err
    assert f"nothing was put at {target}" in run.err
    assert "hint: a mirror or a proxy served a corrupt file" in run.err
    assert not target.exists()
    # The corrupt download is gone: the next run fetches that file anew, and only that file.
    hub.faults.flip.clear()
    hub.log.clear()
    again = fetch(hymt, hub, target)
    assert again.code == 0, again.err
    assert_model(target)
    assert len(resolve_gets(hub)) == 1 and "/cdn/" in resolve_gets(hub)[0]
    assert hub.ranges("/cdn/") == []


def test_a_partial_download_longer_than_the_file_is_started_over(hymt, hub, tmp_path):
    target = tmp_path / "m"
    staging = staging_path(target)
    staging.mkdir(parents=True)
    commit = hub.repos[REPO.casefold()].refs["main"]
    (staging / ".hymt-fetch.json").write_text(json.dumps({"repo_id": REPO, "hub": "huggingface", "commit": commit}))
    (staging / (LARGE + ".hymt-part")).write_bytes(b"x" * (len(FILES[LARGE]) + 10))
    run = fetch(hymt, hub, target)
    assert run.code == 0, run.err
    assert_model(target)
    assert hub.ranges("/cdn/") == []


def test_a_staging_directory_of_another_fetch_is_started_over(hymt, hub, tmp_path):
    target = tmp_path / "m"
    staging = staging_path(target)
    staging.mkdir(parents=True)
    (staging / ".hymt-fetch.json").write_text(json.dumps({"repo_id": REPO, "hub": "huggingface", "commit": "0" * 40}))
    (staging / (LARGE + ".hymt-part")).write_bytes(FILES[LARGE][:1000][::-1])
    run = fetch(hymt, hub, target)
    assert run.code == 0, run.err
    assert "starting over" in run.err
    assert_model(target)


# --- the recorded commit (a lock file) -------------------------------------------------------------------------------
def new_commit(hub) -> tuple[str, dict[str, bytes]]:
    changed = {**FILES, "config.json": b'{"model_type": "hunyuan_v1_dense", "revision": 2}\n'}
    return hub.repos[REPO.casefold()].add_commit(changed, "main"), changed


def test_without_revision_a_later_fetch_keeps_the_recorded_commit(hymt, hub, tmp_path):
    first_commit = hub.repos[REPO.casefold()].refs["main"]
    assert fetch(hymt, hub, tmp_path / "m").code == 0
    new_commit(hub)  # main moves on
    (tmp_path / "m/config.json").unlink()  # and a file goes missing: the repair takes it from the recorded commit
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    assert_model(tmp_path / "m")
    assert read_manifest(tmp_path / "m").commit == first_commit


def test_update_moves_to_the_branchs_new_commit_downloading_only_what_changed(hymt, hub, tmp_path):
    assert fetch(hymt, hub, tmp_path / "m").code == 0
    commit, changed = new_commit(hub)
    hub.log.clear()
    run = fetch(hymt, hub, tmp_path / "m", "--update")
    assert run.code == 0, run.err
    assert_model(tmp_path / "m", changed)
    manifest = read_manifest(tmp_path / "m")
    assert (manifest.revision, manifest.commit) == ("main", commit)
    assert [path.rsplit("/", 1)[-1] for path in resolve_gets(hub)] == ["config.json"]
    assert leftovers(tmp_path) == ["m"]


def test_an_explicit_revision_is_fetched(hymt, hub, tmp_path):
    old = hub.repos[REPO.casefold()].refs["main"]
    new_commit(hub)
    run = fetch(hymt, hub, tmp_path / "m", "--revision", old)
    assert run.code == 0, run.err
    assert_model(tmp_path / "m")
    manifest = read_manifest(tmp_path / "m")
    assert (manifest.revision, manifest.commit) == (None, old)


# --- failures: clear messages and exit codes --------------------------------------------------------------------------
def test_a_wrong_repository(hymt, hub, tmp_path):
    run = hymt("model", "fetch", "hymt-test/no-such-model", "--dir", tmp_path / "m", "--endpoint", hub.url)
    assert run.code == ExitStatus.NOT_FOUND == 3
    assert f"hymt: error: {hub.url} has no repository hymt-test/no-such-model (or it is private)" in run.err
    assert "'hymt model list' shows the known ones" in run.err
    assert "Traceback" not in run.output and not (tmp_path / "m").exists()


def test_a_repository_id_that_is_not_one(hymt, hub, tmp_path):
    run = hymt("model", "fetch", "just-a-name", "--dir", tmp_path / "m", "--endpoint", hub.url)
    assert run.code == ExitStatus.USAGE
    assert "'just-a-name' is not a hub repository id (owner/name)" in run.err
    assert hub.log == []


def test_a_wrong_revision(hymt, hub, tmp_path):
    run = fetch(hymt, hub, tmp_path / "m", "--revision", "v9")
    assert run.code == ExitStatus.NOT_FOUND
    assert f"{REPO} has no revision 'v9' on {hub.url}" in run.err
    assert "--revision" in run.err


def test_a_gated_model_without_a_token(hymt, hub, tmp_path):
    repo = hub.repos[REPO.casefold()]
    repo.token, repo.gated = TOKEN, True
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.ACCESS_DENIED == 4
    assert f"hymt: error: {REPO} is gated: it needs a token" in run.err
    assert f"accept its terms at {hub.url}/{REPO}" in run.err and "--token-file FILE or HF_TOKEN" in run.err


def test_a_refused_token_is_named_by_origin_and_never_printed(hymt, hub, tmp_path):
    hub.repos[REPO.casefold()].token = TOKEN
    token_file = tmp_path / "token"
    token_file.write_text("hf_wrong-token-0000\n")
    run = fetch(hymt, hub, tmp_path / "m", "--token-file", token_file)
    assert run.code == ExitStatus.ACCESS_DENIED
    assert f"{hub.url} refused the token from --token-file {token_file} for {REPO}" in run.err
    assert "hf_wrong-token-0000" not in run.output


def test_a_token_file_reaches_a_private_model(hymt, hub, tmp_path):
    hub.repos[REPO.casefold()].token = TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    run = fetch(hymt, hub, tmp_path / "m", "--token-file", token_file)
    assert run.code == 0, run.err
    assert_model(tmp_path / "m")
    assert TOKEN not in run.output and TOKEN not in (tmp_path / "m" / MANIFEST_NAME).read_text()


def test_a_private_model_without_a_token(hymt, hub, tmp_path):
    hub.repos[REPO.casefold()].token = TOKEN
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.NOT_FOUND  # the hub does not tell a private model from a missing one
    assert "(or it is private)" in run.err and "--token-file FILE or HF_TOKEN" in run.err


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read the token file"), ("", "is empty or holds more than a token"), ("a b", "more than a token")],
)
def test_a_bad_token_file_is_a_usage_error(hymt, hub, tmp_path, content, message):
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    run = fetch(hymt, hub, tmp_path / "m", "--token-file", token_file)
    assert run.code == ExitStatus.USAGE
    assert message in run.err
    assert hub.log == []


def test_too_little_disk_space_is_refused_before_the_first_byte(hymt, hub, tmp_path):
    total = sum(len(data) for data in FILES.values())
    run = fetch(hymt, hub, tmp_path / "m", disk_usage=lambda path: Usage(10**9, 10**9 - 10**6, 10**6))
    assert run.code == ExitStatus.NO_SPACE == 5
    assert f"{REPO} needs {total / 1e6:.1f} MB more on the file system of {tmp_path}, which has 1.0 MB free" in run.err
    assert "nothing was downloaded" in run.err
    assert resolve_gets(hub) == []
    assert not (tmp_path / "m").exists()


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 1 MB file system (a tmpfs; mounting one needs root)."""
    require(os.geteuid() == 0 and shutil.which("mount") is not None, "mounting a small tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    require(mounted.returncode == 0, f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_small_disk_is_refused_before_the_first_byte(hymt, hub, small_disk):
    run = fetch(hymt, hub, small_disk / "m")
    assert run.code == ExitStatus.NO_SPACE, run.output
    assert "nothing was downloaded" in run.err and resolve_gets(hub) == []


def test_a_disk_that_fills_up_while_writing_is_a_clear_error_and_resumable(hymt, hub, small_disk):
    # The free-space probe is told there is room (another process filled the disk after it looked).
    run = fetch(hymt, hub, small_disk / "m", disk_usage=lambda path: Usage(10**12, 0, 10**12))
    assert run.code == ExitStatus.NO_SPACE, run.output
    assert "the disk filled up while writing" in run.err
    assert "run the same command again: it continues where it stopped" in run.err
    assert not (small_disk / "m").exists()


def test_an_unreachable_hub(hymt, tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    run = hymt("model", "fetch", REPO, "--dir", tmp_path / "m", "--endpoint", endpoint)
    assert run.code == ExitStatus.UNAVAILABLE == 6
    assert f"hymt: error: cannot reach {endpoint}" in run.err
    assert "--endpoint https://hf-mirror.com" in run.err and "--hub modelscope" in run.err


def test_an_endpoint_that_is_not_a_hub(hymt, hub, tmp_path):
    run = hymt("model", "fetch", REPO, "--dir", tmp_path / "m", "--endpoint", hub.url + "/nothing-here")
    assert run.code == ExitStatus.UNAVAILABLE, run.output
    assert f"hymt: error: {hub.url}/nothing-here does not answer like a Hugging Face hub" in run.err
    assert "(--endpoint, HF_ENDPOINT), or use --hub modelscope" in run.err


def test_mirror_credentials_never_reach_the_output_or_the_manifest(hymt, hub, tmp_path, monkeypatch):
    host = hub.url.removeprefix("http://")
    monkeypatch.setenv("HF_ENDPOINT", f"http://user:s3cret@{host}")
    run = hymt("model", "fetch", REPO, "--dir", tmp_path / "m")
    assert run.code == 0, run.err
    assert "s3cret" not in run.output and "s3cret" not in (tmp_path / "m" / MANIFEST_NAME).read_text()
    assert read_manifest(tmp_path / "m").endpoint == hub.url


def test_a_directory_with_other_files_is_left_alone(hymt, hub, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m/notes.txt").write_text("mine")
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.USAGE
    assert "holds files that are not part of hymt-test/tiny-mt: notes.txt" in run.err
    assert (tmp_path / "m/notes.txt").read_text() == "mine"


def test_a_directory_of_another_model_is_left_alone(hymt, hub, tmp_path):
    hub.add_repo("hymt-test/other", tiny_repository("other"))
    assert hymt("model", "fetch", "hymt-test/other", "--dir", tmp_path / "m", "--endpoint", hub.url).code == 0
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.USAGE
    assert f"holds hymt-test/other, not {REPO}" in run.err


def test_a_damaged_model_is_repaired_downloading_only_the_damaged_file(hymt, hub, tmp_path):
    assert fetch(hymt, hub, tmp_path / "m").code == 0
    with open(tmp_path / "m" / LARGE, "r+b") as weights:
        weights.seek(1234)
        weights.write(b"\0")
    hub.log.clear()
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    assert_model(tmp_path / "m")
    assert [path.split("/")[1] for path in resolve_gets(hub)] == ["cdn"]


def test_a_copy_made_by_hand_is_completed_downloading_only_what_is_missing(hymt, hub, tmp_path):
    copy_files(tmp_path / "m", {path: data for path, data in FILES.items() if path != LARGE})
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == 0, run.err
    assert_model(tmp_path / "m")
    assert [path.split("/")[1] for path in resolve_gets(hub)] == ["cdn"]


def test_another_fetch_into_the_same_directory_is_refused(hymt, hub, tmp_path):
    (tmp_path / ".m.hymt-lock").touch()
    with open(tmp_path / ".m.hymt-lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.FAILURE
    assert f"another hymt model fetch is writing {tmp_path / 'm'}" in run.err


def test_progress_is_a_line_per_file_in_logs(hymt, hub, tmp_path):
    run = fetch(hymt, hub, tmp_path / "m")
    assert f"hymt: fetching {LARGE} (2.0 MB)" in run.err
    assert f"hymt: {LARGE}: verified" in run.err
    assert "\r" not in run.err


def test_help_documents_the_exit_codes(hymt):
    run = hymt("model", "fetch", "--help")
    assert run.code == 0
    for line in ("0  the model is complete", "3  not found", "4  access denied", "5  not enough disk space"):
        assert line in run.out
    assert "HF_ENDPOINT" in run.out and "MODELSCOPE_API_TOKEN" in run.out


def test_without_huggingface_hub_the_fetch_says_which_extra_to_install(hymt, hub, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if the 'fetch' extra were not installed
    run = fetch(hymt, hub, tmp_path / "m")
    assert run.code == ExitStatus.USAGE
    assert "fetching from Hugging Face needs the huggingface_hub package" in run.err
    assert "pip install 'hymt[fetch]'" in run.err
    # ModelScope and checks need no more than hymt itself.
    assert hymt("model", "fetch", "hymt-test/tiny-mt-ms", "--dir", tmp_path / "ms", "--hub", "modelscope",
                "--endpoint", hub.url).code == 0  # fmt: skip
    assert hymt("model", "check", tmp_path / "ms").code == 0
