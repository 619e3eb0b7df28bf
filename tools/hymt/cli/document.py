"""`hymt translate --file FILE`: a whole .txt, .md, .srt or .json file, keeping its structure, with a progress bar.

The file is taken apart by hymt.core.documents; its pieces are translated concurrently (the client's max_workers)
and the file is written only once every piece has come back: to --output (never over an existing file, through a
temporary file renamed into place), or to standard output.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TextIO

from hymt.cli.output import warn
from hymt.core.documents import KINDS, DocumentError, read_document
from hymt.core.features import FORMAT_TEXT, Features
from hymt.core.files import TextFileError, read_text_file
from hymt.sdk.errors import HymtError, InvalidRequest
from hymt.sdk.result import Translation, Translator


class UnitProgress:
    """A bar redrawn on one line of a terminal (`done/total` pieces); nothing when the stream is not a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str, total: int) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.done = 0
        self.shown = stream.isatty()
        self._lock = threading.Lock()  # pieces finish in the workers' threads
        self._draw()

    def advance(self) -> None:
        with self._lock:
            self.done += 1
            self._draw()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.shown:
            return
        filled = self.WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        self.stream.flush()


def check_options(args: argparse.Namespace) -> None:
    """Options that do not go with --file, refused before anything is read or sent."""
    for option, given in (("TEXT", args.text is not None), ("--stream", args.stream), ("--json", args.json)):
        if given:
            raise InvalidRequest(f"{option} does not go with --file", "translate a file, or a text, not both")
    if args.format != FORMAT_TEXT:
        raise InvalidRequest("--format does not go with --file", "the file's extension says its format")


def translate_file(
    client: Translator, args: argparse.Namespace, features: Features, progress_stream: TextIO | None = None
) -> None:
    path = args.file
    try:
        document = read_document(path, read_text_file(path))
    except TextFileError as error:
        raise InvalidRequest(str(error), f"give a UTF-8 file ending in {', '.join(KINDS)}") from None
    except DocumentError as error:
        raise InvalidRequest(str(error)) from None
    output = Path(args.output) if args.output else None
    if output is not None and output.exists():
        raise InvalidRequest(f"{output} exists already", "choose another --output, or move that file away first")
    results = _translate_units(client, args, features, document.units, progress_stream or sys.stderr, path)
    for (label, _), result in zip(document.units, results, strict=True):
        for warning in result.warnings:
            warn(f"{label}: the translation may be damaged: {warning}")
        if result.truncated:
            warn(f"{label}: the answer reached its max_tokens limit: the translation may be cut short")
    text = document.render([result.text for result in results])
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _write_new(output, text)


def _translate_units(
    client: Translator,
    args: argparse.Namespace,
    features: Features,
    units: tuple[tuple[str, str], ...],
    stream: TextIO,
    path: str,
) -> list[Translation]:
    progress = UnitProgress(stream, f"translating {path}", len(units))
    workers = max(1, getattr(getattr(client, "settings", None), "max_workers", 4))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures: list[Future[Translation]] = []
            for _, text in units:
                future = pool.submit(client.translate, text, args.target, args.source, features=features)
                future.add_done_callback(lambda _: progress.advance())
                futures.append(future)
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            failed = next((f for f in futures if f in done and f.exception() is not None), None)
            if failed is not None:
                error = failed.exception()
                if isinstance(error, HymtError):
                    error.message = f"{units[futures.index(failed)][0]}: {error.message}"
                    error.args = (error.message,)
                raise error  # type: ignore[misc]
            return [future.result() for future in futures]
    finally:
        progress.close()


def _write_new(output: Path, text: str) -> None:
    """`text` into the new file `output`, whole or not at all."""
    directory = output.parent if str(output.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.link(temporary, output)  # fails when the file appeared meanwhile: nothing of anyone's is replaced
    except FileExistsError:
        raise InvalidRequest(f"{output} exists already", "choose another --output") from None
    except OSError as error:
        raise InvalidRequest(f"{output} cannot be written ({error.strerror or error})") from None
    finally:
        os.unlink(temporary)
