"""Reading a user's text file with one set of plain reasons for what went wrong (callers add what to do)."""

from __future__ import annotations

from pathlib import Path


class TextFileError(ValueError):
    """A text file that cannot be read; `reason` completes "<path> ...", e.g. "does not exist"."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path} {reason}")


def read_text_file(path: str | Path) -> str:
    """The UTF-8 text of the file at `path`; TextFileError says why it cannot be had."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TextFileError(path, "does not exist") from None
    except UnicodeDecodeError:
        raise TextFileError(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise TextFileError(path, f"cannot be read ({exc.strerror or exc})") from None
