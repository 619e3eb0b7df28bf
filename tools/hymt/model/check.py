"""`hymt model check`: is every file of the manifest present, of its size, with its hash? And `--adopt`: make a
manifest for files copied by hand, from a hub's index (every file must match it) or from the files themselves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hymt.model.errors import Damaged, ModelUsageError, NotFound, human_size
from hymt.model.hubs.base import Hub, RemoteFile, Revision
from hymt.model.manifest import (
    HUB_LOCAL,
    MANIFEST_NAME,
    Manifest,
    ManifestFile,
    git_blob_id,
    read_manifest,
    sha256_file,
    write_manifest,
)
from hymt.model.progress import Progress

# Names of hymt's own bookkeeping, never part of a model.
INTERNAL_SUFFIXES = (".hymt-part",)


@dataclass
class Problem:
    path: str
    kind: str  # "missing", "size" or "hash"
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


@dataclass
class CheckReport:
    directory: Path
    manifest: Manifest
    problems: list[Problem] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # files in the directory the manifest does not list
    hashed: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems


def model_files(directory: Path) -> list[str]:
    """Every regular file under `directory` (relative, sorted), leaving out the manifest."""
    found = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and relative != MANIFEST_NAME and not relative.endswith(INTERNAL_SUFFIXES):
            found.append(relative)
    return sorted(found)


def require_manifest(directory: Path) -> Manifest:
    if not directory.is_dir():
        raise NotFound(
            f"{directory} does not exist" if not directory.exists() else f"{directory} is not a directory",
            "fetch the model into it: hymt model fetch REPO_ID --dir " + str(directory),
        )
    manifest = read_manifest(directory)
    if manifest is None:
        raise NotFound(
            f"{directory} has no manifest ({MANIFEST_NAME}): hymt cannot tell whether its files are complete",
            f"fetch the model with 'hymt model fetch REPO_ID --dir {directory}' (files already there are reused), "
            f"or, for a copy made by hand, 'hymt model check {directory} --adopt REPO_ID' (hashes what is there "
            "against the hub's index)",
        )
    return manifest


def check(directory: Path, progress: Progress, *, hashes: bool = True) -> CheckReport:
    """Compare `directory` with its manifest; NotFound when it has none."""
    directory = Path(directory).absolute()
    manifest = require_manifest(directory)
    report = CheckReport(directory, manifest, hashed=hashes)
    present = set(model_files(directory))
    report.extra = sorted(present - {entry.path for entry in manifest.files})
    to_hash = []
    for entry in manifest.files:
        path = directory / entry.path
        if entry.path not in present:
            report.problems.append(Problem(entry.path, "missing", "missing"))
            continue
        size = path.stat().st_size
        if size != entry.size:
            what = "short" if size < entry.size else "too long"
            detail = f"{what}: {human_size(size)} ({size} bytes) instead of {human_size(entry.size)} ({entry.size})"
            report.problems.append(Problem(entry.path, "size", detail))
        elif hashes:
            to_hash.append(entry)
    progress.verb = "checking"
    progress.start(sum(entry.size for entry in to_hash))
    for entry in to_hash:
        progress.start_file(entry.path, entry.size)
        digest = sha256_file(directory / entry.path, progress.advance)
        if digest != entry.sha256:
            report.problems.append(
                Problem(entry.path, "hash", f"corrupt: SHA-256 {digest[:16]}… instead of {entry.sha256[:16]}…")
            )
            progress.end_file("corrupt")
        else:
            progress.end_file("ok")
    progress.finish()
    return report


def matches(path: Path, remote: RemoteFile, advance=None) -> str | None:
    """The file's SHA-256 when it matches the index entry (size, and the hub's hash), else None."""
    if not path.is_file() or path.stat().st_size != remote.size:
        return None
    digest = sha256_file(path, advance)
    if remote.sha256:
        return digest if digest == remote.sha256 else None
    if remote.blob_id and git_blob_id(path) != remote.blob_id:
        return None
    return digest


def adopt_from_hub(
    directory: Path, hub: Hub, repo_id: str, revision: str | None, progress: Progress
) -> tuple[Manifest, list[str]]:
    """Write a manifest for `directory` if every file of the hub's index is there and matches; returns it and the
    files the directory has beyond the index."""
    directory = _adoptable(directory)
    resolved: Revision = hub.resolve(repo_id, revision)
    index = hub.index(repo_id, resolved)
    progress.verb = "hashing"
    progress.start(sum(remote.size for remote in index))
    entries, problems = [], []
    for remote in sorted(index, key=lambda remote: remote.path):
        path = directory / remote.path
        if not path.is_file():
            problems.append(f"{remote.path}: missing")
            progress.advance(remote.size)
            continue
        progress.start_file(remote.path, remote.size)
        digest = matches(path, remote, progress.advance)
        if digest is None:
            size = path.stat().st_size
            problems.append(
                f"{remote.path}: does not match the index"
                + (f" ({size} bytes instead of {remote.size})" if size != remote.size else " (its hash differs)")
            )
            progress.end_file("does not match")
            continue
        progress.end_file("matches")
        entries.append(ManifestFile(remote.path, remote.size, digest))
    progress.finish()
    if problems:
        raise Damaged(
            f"{directory} does not hold {repo_id}@{resolved.name or resolved.commit[:12]} as {hub.public_endpoint} "
            f"lists it: "
            + "; ".join(problems[:10])
            + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""),
            f"fetch it instead: hymt model fetch {repo_id} --dir {directory} (matching files are reused)",
        )
    manifest = Manifest(
        repo_id=repo_id,
        hub=hub.name,
        revision=resolved.name,
        commit=resolved.commit,
        files=tuple(entries),
        endpoint=hub.public_endpoint,
        source="adopted: files that were already there, checked against the hub's index",
    )
    write_manifest(directory, manifest)
    return manifest, sorted(set(model_files(directory)) - {entry.path for entry in entries})


def adopt_local(directory: Path, repo_id: str, progress: Progress, source: str | None = None) -> Manifest:
    """A local manifest: every file as it is now (no hub to compare with)."""
    directory = _adoptable(directory)
    paths = model_files(directory)
    if not paths:
        raise ModelUsageError(f"{directory} has no files to adopt", "give the directory that holds the model's files")
    progress.verb = "hashing"
    progress.start(sum((directory / path).stat().st_size for path in paths))
    entries = []
    for path in paths:
        size = (directory / path).stat().st_size
        progress.start_file(path, size)
        entries.append(ManifestFile(path, size, sha256_file(directory / path, progress.advance)))
        progress.end_file("hashed")
    progress.finish()
    manifest = local_manifest(repo_id, entries, source or "adopted: the files as they were, without a hub to compare")
    write_manifest(directory, manifest)
    return manifest


def local_manifest(repo_id: str, entries: Iterable[ManifestFile], source: str) -> Manifest:
    return Manifest(repo_id=repo_id, hub=HUB_LOCAL, revision=None, commit=None, files=tuple(entries), source=source)


def _adoptable(directory: Path) -> Path:
    directory = Path(directory).absolute()
    if not directory.is_dir():
        raise NotFound(f"{directory} is not a directory", "give the directory that holds the model's files")
    if read_manifest(directory) is not None:
        raise ModelUsageError(
            f"{directory} already has a manifest",
            f"check it with 'hymt model check {directory}'; to adopt the files anew, delete {MANIFEST_NAME} first",
        )
    return directory
