"""What every source of model files provides: resolve a revision to a commit, list the files, send one file's bytes
from an offset on (so that an interrupted download continues where it stopped)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

COMMIT = re.compile(r"[0-9a-f]{40}")

Advance = Callable[[int], None]  # told the number of bytes each piece had (negative when a download restarts)
Note = Callable[[str], None]  # a remark for the user (a retry, a resumed connection)


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # Hugging Face: the LFS hash of large files; ModelScope: every file's hash
    blob_id: str | None = None  # Hugging Face: the git object id (what files outside LFS are checked against)


@dataclass(frozen=True)
class Revision:
    name: str | None  # the branch or tag asked for; None when a commit was asked for
    commit: str


class Hub(Protocol):
    name: str
    public_endpoint: str

    def resolve(self, repo_id: str, revision: str | None) -> Revision: ...

    def index(self, repo_id: str, revision: Revision) -> list[RemoteFile]: ...

    def download(
        self, repo_id: str, revision: Revision, file: RemoteFile, out: BinaryIO, offset: int, advance: Advance
    ) -> None:
        """Append the file's bytes from `offset` on to `out` (positioned at its end, `offset` bytes long)."""
        ...

    def close(self) -> None: ...


def same_origin(first: str, second: str) -> bool:
    """Whether two URLs share scheme, host and port (credentials never travel to another origin)."""
    a, b = urlsplit(first), urlsplit(second)
    default = {"http": 80, "https": 443}
    return (a.scheme, (a.hostname or "").lower(), a.port or default.get(a.scheme)) == (
        b.scheme,
        (b.hostname or "").lower(),
        b.port or default.get(b.scheme),
    )
