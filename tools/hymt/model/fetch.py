"""`hymt model fetch`: every file of a repository at one commit into DIR, verified, never half-used.

1. The revision is resolved to a commit. Without --revision a DIR fetched before keeps its recorded commit (like a
   lock file); --update resolves the recorded branch or tag again.
2. The index (paths, sizes, hashes) is read and checked: no path may leave DIR.
3. Files land in a staging directory next to DIR (.<name>.hymt-fetch), which a later run reuses: a download
   stopped by a cut or a killed process continues from the bytes it has (byte ranges). Files of DIR that already
   match the index are linked in rather than downloaded again (a repair or an update fetches only what changed).
4. The free disk space is checked against what is left to download before the first byte.
5. Each file is verified when complete: its size, and its SHA-256 (or, for small Hugging Face files outside LFS,
   its git object id) against the index. A file that does not match is thrown away and the run stops, naming it.
6. Only when every file is verified is the manifest written (last), and the staging directory renamed to DIR:
   the path vLLM mounts never holds an incomplete model.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hymt.model.check import matches, model_files
from hymt.model.errors import Busy, Damaged, HubFailed, ModelUsageError, NoSpace, NotFound, human_size
from hymt.model.hubs.base import Hub, RemoteFile, Revision
from hymt.model.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestFile,
    checked_path,
    read_manifest,
    replace_directory,
    sha256_file,
    sync_directory,
    write_manifest,
)
from hymt.model.progress import Progress, human_duration

PART_SUFFIX = ".hymt-part"
STATE_NAME = ".hymt-fetch.json"
# Room left free on top of the model: the file system and everything else on it need some.
DISK_MARGIN = 64 * 1000 * 1000

DiskUsage = Callable[[str], "shutil._ntuple_diskusage"]


@dataclass(frozen=True)
class FetchRequest:
    repo_id: str
    directory: Path
    revision: str | None = None
    update: bool = False
    source: str | None = None  # for a copy: where it came from (recorded in the manifest)


@dataclass(frozen=True)
class FetchResult:
    manifest: Manifest
    directory: Path
    downloaded: int  # bytes transferred by this run
    reused: int  # bytes already there (in DIR or in the staging directory)
    seconds: float
    changed: bool  # False when DIR already held this commit, complete

    def summary(self) -> str:
        model = self.manifest.describe()
        if not self.changed:
            return f"{model} is already complete in {self.directory}"
        rate = f", {human_size(self.downloaded / self.seconds)}/s" if self.seconds > 0 and self.downloaded else ""
        reused = f", {human_size(self.reused)} reused" if self.reused else ""
        return (
            f"fetched {model} into {self.directory}: {len(self.manifest.files)} files, "
            f"{human_size(self.manifest.total_size)} ({human_size(self.downloaded)} downloaded{reused}) "
            f"in {human_duration(self.seconds)}{rate}"
        )


def staging_path(directory: Path) -> Path:
    return directory.parent / f".{directory.name}.hymt-fetch"


def fetch(
    request: FetchRequest,
    hub: Hub,
    progress: Progress,
    *,
    disk_usage: DiskUsage = shutil.disk_usage,
    clock: Callable[[], float] = time.monotonic,
) -> FetchResult:
    started = clock()
    directory = Path(request.directory).expanduser().absolute()
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _os_error(error, directory.parent) from None
    with _lock(directory):
        existing = _existing_manifest(directory, request, hub)
        revision = _choose_revision(request, existing, hub)
        index = _checked_index(hub.index(request.repo_id, revision), hub, request.repo_id)
        if existing is None:
            _refuse_foreign_files(directory, index, request)
        commit = revision.commit or None
        if existing and existing.hub == hub.name and existing.commit == commit and _complete(directory, index):
            return FetchResult(existing, directory, 0, existing.total_size, clock() - started, changed=False)
        staging = _prepare_staging(directory, request, hub, revision, progress)
        try:
            reused = _seed(staging, directory, index, progress)
            downloaded = _download_all(staging, index, request, hub, revision, progress, disk_usage, reused)
            manifest = Manifest(
                repo_id=request.repo_id,
                hub=hub.name,
                revision=revision.name,
                commit=revision.commit or None,
                files=tuple(
                    ManifestFile(remote.path, remote.size, _digest(staging, remote))
                    for remote in sorted(index, key=lambda remote: remote.path)
                ),
                # A copy records where its original came from, and that it is a copy.
                endpoint=getattr(hub, "origin_endpoint", hub.public_endpoint),
                source=request.source or getattr(hub, "copy_note", None),
            )
            (staging / STATE_NAME).unlink(missing_ok=True)
            write_manifest(staging, manifest)
            _put_in_place(staging, directory)
        except OSError as error:
            raise _os_error(error, staging) from None
    return FetchResult(manifest, directory, downloaded, reused, clock() - started, changed=True)


# --- steps ---------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    path = directory.parent / f".{directory.name}.hymt-lock"
    try:
        handle = open(path, "a")  # noqa: SIM115 (closed by the with below, after the error is handled)
    except OSError as error:
        raise _os_error(error, directory.parent) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise Busy(
                f"another hymt model fetch is writing {directory}",
                "wait for it to finish (or stop it), then run this again",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _existing_manifest(directory: Path, request: FetchRequest, hub: Hub) -> Manifest | None:
    if not directory.exists():
        return None
    if not directory.is_dir():
        raise ModelUsageError(f"{directory} exists and is not a directory", "choose another --dir")
    manifest = read_manifest(directory)
    if manifest is None:
        return None
    if manifest.repo_id.casefold() != request.repo_id.casefold():
        raise ModelUsageError(
            f"{directory} holds {manifest.repo_id}, not {request.repo_id}",
            f"fetch {request.repo_id} into another --dir (each model has its own directory)",
        )
    return manifest


def _choose_revision(request: FetchRequest, existing: Manifest | None, hub: Hub) -> Revision:
    """The commit to fetch: asked for, recorded (the lock), or what the recorded branch points to now (--update)."""
    if request.revision or existing is None or existing.is_local or getattr(hub, "is_copy", False):
        return hub.resolve(request.repo_id, request.revision)
    if existing.hub != hub.name:
        if not request.update:
            raise ModelUsageError(
                f"{request.directory} holds {existing.describe()}; commits on {hub.name} are not the same",
                f"pass --update to replace it with {hub.name}'s files, or fetch with --hub {existing.hub}",
            )
        return hub.resolve(request.repo_id, None)
    if request.update:
        return hub.resolve(request.repo_id, existing.revision)
    if hub.name == "modelscope":  # downloads by branch or tag only: the branch must still point at the commit
        current = hub.resolve(request.repo_id, existing.revision)
        if current.commit != existing.commit:
            raise NotFound(
                f"{existing.revision} of {request.repo_id} has moved on ModelScope from the recorded commit "
                f"{(existing.commit or '')[:12]} to {current.commit[:12]}, and ModelScope serves only the newest",
                "pass --update to take the new commit (the files that did not change are kept)",
            )
        return current
    return hub.resolve(request.repo_id, existing.commit)


def _checked_index(index: list[RemoteFile], hub: Hub, repo_id: str) -> list[RemoteFile]:
    if not index:
        raise HubFailed(
            f"{hub.public_endpoint} lists no files for {repo_id}", "check the repository id and the revision"
        )
    seen = set()
    for remote in index:
        try:
            path = checked_path(remote.path)
        except ValueError as error:
            raise HubFailed(f"{hub.public_endpoint} lists a file hymt will not write: {error}") from None
        if path in (MANIFEST_NAME, STATE_NAME) or path.endswith(PART_SUFFIX) or path in seen:
            raise HubFailed(f"{hub.public_endpoint} lists a file hymt cannot store as it is: {path}")
        if remote.size < 0:
            raise HubFailed(f"{hub.public_endpoint} lists {path} with a negative size")
        seen.add(path)
    return index


def _refuse_foreign_files(directory: Path, index: list[RemoteFile], request: FetchRequest) -> None:
    """A DIR without a manifest may hold a copy of the model made by hand (its files are reused when they match, the
    others replaced), but nothing else: files the repository does not have are the user's."""
    foreign = sorted(set(model_files(directory)) - {remote.path for remote in index}) if directory.is_dir() else []
    if foreign:
        raise ModelUsageError(
            f"{directory} holds files that are not part of {request.repo_id}: {', '.join(foreign[:5])}"
            + (" ..." if len(foreign) > 5 else ""),
            "fetch into an empty or new directory (--dir), or move those files away",
        )


def _complete(directory: Path, index: list[RemoteFile]) -> bool:
    """Whether DIR holds exactly what the index lists, each file verified."""
    return all(matches(directory / remote.path, remote) for remote in index)


def _prepare_staging(directory: Path, request: FetchRequest, hub: Hub, revision: Revision, progress: Progress) -> Path:
    staging = staging_path(directory)
    state = {"repo_id": request.repo_id, "hub": hub.name, "commit": revision.commit}
    if staging.exists():
        try:
            previous = json.loads((staging / STATE_NAME).read_text())
        except (OSError, ValueError):
            previous = None
        if previous != state:
            progress.note(f"note: starting over in {staging}: it held an unfinished fetch of something else")
            shutil.rmtree(staging)
    staging.mkdir(mode=0o755, exist_ok=True)
    (staging / STATE_NAME).write_text(json.dumps(state))
    return staging


def _seed(staging: Path, directory: Path, index: list[RemoteFile], progress: Progress) -> int:
    """Link files of DIR that already match the index into the staging directory; returns the bytes found there
    (in DIR, or completed by an earlier run)."""
    reused = 0
    if directory.is_dir() and any(directory.iterdir()):
        progress.note(f"checking the files already in {directory}")
    for remote in index:
        target = staging / remote.path
        if target.exists():
            reused += remote.size
            continue
        present = directory / remote.path
        if directory.is_dir() and present.is_file() and matches(present, remote):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(present, target)
            except OSError:
                shutil.copy2(present, target)
            reused += remote.size
    if reused:
        progress.note(f"reusing {human_size(reused)} already there")
    return reused


def _download_all(
    staging: Path,
    index: list[RemoteFile],
    request: FetchRequest,
    hub: Hub,
    revision: Revision,
    progress: Progress,
    disk_usage: DiskUsage,
    reused: int,
) -> int:
    pending = [
        remote for remote in sorted(index, key=lambda r: (r.size, r.path)) if not (staging / remote.path).exists()
    ]
    partial = {remote.path: _part_size(staging, remote) for remote in pending}
    missing = sum(remote.size - partial[remote.path] for remote in pending)
    free = disk_usage(str(staging)).free
    if missing + DISK_MARGIN > free:
        raise NoSpace(
            f"{request.repo_id} needs {human_size(missing)} more on the file system of {request.directory.parent}, "
            f"which has {human_size(free)} free",
            "free some space there, or fetch into a directory on a larger disk (--dir); nothing was downloaded",
        )
    total = sum(remote.size for remote in index)
    progress.start(total, already=total - missing)
    downloaded = 0
    for remote in pending:
        downloaded += _download_one(staging, remote, request, hub, revision, progress, partial[remote.path])
    progress.finish()
    return downloaded


def _part_size(staging: Path, remote: RemoteFile) -> int:
    part = staging / (remote.path + PART_SUFFIX)
    try:
        size = part.stat().st_size
    except FileNotFoundError:
        return 0
    if size > remote.size:  # longer than the file can be: not a beginning of it
        part.unlink()
        return 0
    return size


def _download_one(
    staging: Path,
    remote: RemoteFile,
    request: FetchRequest,
    hub: Hub,
    revision: Revision,
    progress: Progress,
    offset: int,
) -> int:
    target = staging / remote.path
    part = staging / (remote.path + PART_SUFFIX)
    part.parent.mkdir(parents=True, exist_ok=True)
    progress.start_file(remote.path, remote.size, offset)
    with open(part, "ab") as out:
        if offset < remote.size:
            try:
                hub.download(request.repo_id, revision, remote, out, offset, progress.advance)
            except OSError as error:
                if error.errno is not None:
                    raise  # the file system's (a full disk ...)
                raise HubFailed(  # the library's: a transfer that ended early, after its own retries
                    f"the download of {remote.path} from {hub.public_endpoint} broke off: {error}".splitlines()[0],
                    "run the same command again: it continues where it stopped",
                ) from None
        out.flush()
        os.fsync(out.fileno())
    size = part.stat().st_size
    if size != remote.size or not matches(part, remote):
        part.unlink()
        if size != remote.size:
            found = f"{human_size(size)} ({size} bytes) instead of {human_size(remote.size)} ({remote.size})"
        else:
            found = "content that does not match the hash in the index"
        raise Damaged(
            f"{remote.path} from {hub.public_endpoint} arrived with {found}; it was discarded and nothing was put "
            f"at {request.directory}",
            "a mirror or a proxy served a corrupt file, or the connection corrupted it: run the same command again "
            "(it downloads that file anew); if it happens again, use another --endpoint or --hub",
        )
    os.chmod(part, 0o644)
    os.replace(part, target)
    progress.end_file("verified")
    return remote.size - offset


def _digest(staging: Path, remote: RemoteFile) -> str:
    # Verified already; the manifest records every file's SHA-256, also for files the index gave only a git id.
    return remote.sha256 or sha256_file(staging / remote.path)


def _put_in_place(staging: Path, directory: Path) -> None:
    """Rename the staging directory to DIR; a previous DIR is renamed away first and removed after."""
    for path in staging.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    sync_directory(staging)
    replace_directory(staging, directory)


def _os_error(error: OSError, where: Path) -> Exception:
    path = error.filename or where
    if error.errno == errno.ENOSPC:
        return NoSpace(
            f"the disk filled up while writing {path}",
            "free some space, then run the same command again: it continues where it stopped",
        )
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ModelUsageError(
            f"cannot write {path}: {error.strerror}",
            "choose a --dir this user may write to (its parent directory must be writable too)",
        )
    if error.errno in (errno.EXDEV, errno.EBUSY):
        return ModelUsageError(
            f"cannot put the model in place at {path}: {error.strerror}",
            "point --dir at a directory inside a mount point, not at the mount point itself",
        )
    return Damaged(f"{path}: {error.strerror or error}", "check the disk and run the same command again")


def existing_files(directory: Path) -> list[str]:
    """The files of DIR (for messages)."""
    return model_files(directory) if directory.is_dir() else []
