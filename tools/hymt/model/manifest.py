"""The manifest a model directory carries: where its files came from and what each must be.

`hymt model fetch` writes it last, once every file is in place and verified; `hymt model check` compares the
directory with it. A manifest of hub "local" was made from the files themselves (`hymt model check --adopt REPO
--hub local`, or by the rehearsal model's generator): it proves that the files are unchanged since, not that they
match a hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from hymt import __version__
from hymt.model.errors import Damaged

MANIFEST_NAME = "hymt-model.json"
FORMAT = "hymt-model/1"
HUB_LOCAL = "local"
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestFile:
    path: str  # relative, with forward slashes
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    repo_id: str
    hub: str  # huggingface, modelscope or local
    revision: str | None  # the branch or tag asked for (None: a commit, or a local manifest)
    commit: str | None  # what it resolved to (None for a local manifest)
    files: tuple[ManifestFile, ...]
    endpoint: str | None = None  # the hub or mirror the files came from (without credentials)
    source: str | None = None  # for local manifests and copies: where the files came from
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool: str = f"hymt {__version__}"

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.files)

    @property
    def is_local(self) -> bool:
        return self.hub == HUB_LOCAL

    def describe(self) -> str:
        """One line naming the model and its origin, for messages."""
        if self.is_local:
            return f"{self.repo_id} (local manifest: {self.source or 'made from the files'})"
        at = f"commit {self.commit[:12]}" if self.commit else "no commit"
        revision = f"{self.revision}, " if self.revision and self.revision != self.commit else ""
        return f"{self.repo_id} from {self.hub} ({revision}{at})"

    def as_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "repo_id": self.repo_id,
            "hub": self.hub,
            "revision": self.revision,
            "commit": self.commit,
            "endpoint": self.endpoint,
            "source": self.source,
            "created": self.created,
            "tool": self.tool,
            "total_size": self.total_size,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }

    @classmethod
    def from_json(cls, data: object, where: Path) -> Manifest:
        problem = f"{where} is not a manifest hymt can read"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Damaged(f"{problem} (format is not {FORMAT})", _REWRITE_HINT)
        try:
            files = tuple(
                ManifestFile(
                    path=checked_path(str(entry["path"])), size=int(entry["size"]), sha256=str(entry["sha256"])
                )
                for entry in data["files"]
            )
            return cls(
                repo_id=str(data["repo_id"]),
                hub=str(data["hub"]),
                revision=data.get("revision"),
                commit=data.get("commit"),
                files=files,
                endpoint=data.get("endpoint"),
                source=data.get("source"),
                created=str(data.get("created", "")),
                tool=str(data.get("tool", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise Damaged(f"{problem}: {error}", _REWRITE_HINT) from None


_REWRITE_HINT = "fetch the model again (hymt model fetch), or make a new manifest with hymt model check --adopt"


def checked_path(path: str) -> str:
    """A repository path that stays inside the model directory, or ValueError."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path or "\0" in path:
        raise ValueError(f"unsafe file path {path!r}")
    return str(pure)


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of `directory`, None when it has none; Damaged when it is unreadable."""
    path = directory / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Damaged(f"cannot read {path}: {error.strerror}", _REWRITE_HINT) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise Damaged(f"{path} is not valid JSON", _REWRITE_HINT) from None
    return Manifest.from_json(data, path)


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    """Write the manifest durably (a temporary file renamed over it, then the directory synced)."""
    path = directory / MANIFEST_NAME
    temporary = directory / f".{MANIFEST_NAME}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest.as_json(), indent=2, ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
    sync_directory(directory)
    return path


def replace_directory(staging: Path, target: Path) -> None:
    """Rename the complete `staging` directory to `target`. A `target` already there is renamed away first and removed
    after; each step is one rename, so `target` never holds a mix of both (for an instant it does not exist)."""
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        retired.rmdir()
        target.rename(retired)
        try:
            staging.rename(target)
        except OSError:
            retired.rename(target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(target)
    sync_directory(target.parent)


def sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: Path, advance: Callable[[int], None] | None = None) -> str:
    """SHA-256 of a file, read in chunks; `advance` is told how many bytes each chunk had."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(HASH_CHUNK):
            digest.update(chunk)
            if advance:
                advance(len(chunk))
    return digest.hexdigest()


def git_blob_id(path: Path) -> str:
    """The git object id of a file's content (what a hub's index gives for files not stored in LFS)."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as source:
        while chunk := source.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
