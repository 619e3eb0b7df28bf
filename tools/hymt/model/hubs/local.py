"""A model directory elsewhere on this machine as the source (`hymt model fetch --copy-from SRC`): its manifest is the
index, its files are copied from the offset a previous copy reached, and each copy is verified like a download.

This is how a model the control machine holds reaches a host without a hub (the model role uploads it next to the
target, then copies it into place through here), and how the rehearsal model travels.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from hymt.model.errors import ModelUsageError, NotFound
from hymt.model.hubs.base import Advance, RemoteFile, Revision
from hymt.model.manifest import Manifest, read_manifest

CHUNK = 1 << 20


class DirectorySource:
    is_copy = True

    def __init__(self, source: Path):
        self.source = Path(source).expanduser().absolute()
        self.public_endpoint = str(self.source)
        if not self.source.is_dir():
            raise ModelUsageError(f"{self.source} is not a directory", "give the model directory to copy (--copy-from)")
        manifest = read_manifest(self.source)
        if manifest is None:
            raise NotFound(
                f"{self.source} has no manifest, so its files cannot be verified",
                f"make one where the files are known to be good: hymt model check {self.source} --adopt REPO_ID",
            )
        self.manifest: Manifest = manifest
        # A copy is of the same origin as its original: the same hub, commit and endpoint go into its manifest.
        self.name = manifest.hub
        self.origin_endpoint = manifest.endpoint
        self.copy_note = f"copied from {self.source}" + (f"; {manifest.source}" if manifest.source else "")

    def resolve(self, repo_id: str, revision: str | None) -> Revision:
        if repo_id.casefold() != self.manifest.repo_id.casefold():
            raise ModelUsageError(
                f"{self.source} holds {self.manifest.repo_id}, not {repo_id}",
                f"give {self.manifest.repo_id} as the repository, or copy from the directory of {repo_id}",
            )
        if revision and revision not in (self.manifest.revision, self.manifest.commit):
            raise NotFound(
                f"{self.source} holds {self.manifest.describe()}, not revision {revision!r}",
                "leave --revision out to copy what it holds",
            )
        return Revision(name=self.manifest.revision, commit=self.manifest.commit or "")

    def index(self, repo_id: str, revision: Revision) -> list[RemoteFile]:
        return [RemoteFile(path=entry.path, size=entry.size, sha256=entry.sha256) for entry in self.manifest.files]

    def download(
        self, repo_id: str, revision: Revision, file: RemoteFile, out: BinaryIO, offset: int, advance: Advance
    ) -> None:
        with open(self.source / file.path, "rb") as source:
            source.seek(offset)
            while chunk := source.read(CHUNK):
                out.write(chunk)
                advance(len(chunk))

    def close(self) -> None:
        pass
