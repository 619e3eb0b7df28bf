"""What a translation returns, and the interface every translation client offers (the CLI works with any of them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hymt.core.features import Features
from hymt.core.languages import AUTO


@dataclass(frozen=True)
class Translation:
    text: str  # the translation, with the source's line breaks and surrounding spaces
    source: str  # the source language: as given, as detected, or "auto" when detection was unsure
    target: str
    model: str
    elapsed: float  # seconds from the first request sent to the last answer received
    segments: int = 1  # requests the text was split into
    truncated: bool = False  # some answer stopped at max_tokens: the translation may be cut short
    # Placeholders, keys or tags of the source the translation did not keep (hymt.core.structure); empty: none.
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The CLI's --json object (the web API's answer: "warnings" only when there are some)."""
        data: dict[str, object] = {
            "translation": self.text,
            "source": self.source,
            "target": self.target,
            "model": self.model,
            "elapsed_ms": round(self.elapsed * 1000),
        }
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


@dataclass
class StreamProgress:
    """What the producer of a stream learns along the way (filled in by the client)."""

    segments: int = 1
    truncated: bool = False
    elapsed: float = 0.0
    # The whole translation as the server reported it at the end (the web gateway does, with the detected source);
    # None: the stream's result is put together from its pieces.
    result: Translation | None = None
    # The warnings of a translation put together from its pieces (hymt.core.structure.check_structure).
    check: Callable[[str], list[str]] | None = None


class TranslationStream(Iterator[str]):
    """The pieces of a translation as the server produces them; after the last, `result` holds the whole.

    `source`, `target` and `model` are known at once (from a web deployment, `source` and `target` are as given
    until the end, then as the deployment understood them, e.g. the detected source). Iterating may raise any
    HymtError; `close()` (or leaving a `with` block) stops the transfer early.
    """

    def __init__(self, pieces: Iterator[str], *, source: str, target: str, model: str, progress: StreamProgress):
        self._pieces = pieces
        self.source = source
        self.target = target
        self.model = model
        self._progress = progress
        self._text: list[str] = []
        self._result: Translation | None = None

    def __iter__(self) -> TranslationStream:
        return self

    def __next__(self) -> str:
        try:
            piece = next(self._pieces)
        except StopIteration:
            if self._result is None and self._progress.result is not None:
                self._result = self._progress.result
                self.source, self.target, self.model = self._result.source, self._result.target, self._result.model
            elif self._result is None:
                text = "".join(self._text)
                self._result = Translation(
                    text=text,
                    source=self.source,
                    target=self.target,
                    model=self.model,
                    elapsed=self._progress.elapsed,
                    segments=self._progress.segments,
                    truncated=self._progress.truncated,
                    warnings=tuple(self._progress.check(text)) if self._progress.check else (),
                )
            raise
        self._text.append(piece)
        return piece

    @property
    def result(self) -> Translation:
        """The whole translation; only once the stream has been read to its end."""
        if self._result is None:
            raise RuntimeError("the stream has not been read to its end")
        return self._result

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close:
            close()

    def __enter__(self) -> TranslationStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class Translator(Protocol):
    """What the CLI needs from a client, whichever server it talks to."""

    @property
    def model(self) -> str: ...

    def translate(
        self, text: str, target: str, source: str = AUTO, *, features: Features | None = None
    ) -> Translation: ...

    def stream(
        self, text: str, target: str, source: str = AUTO, *, features: Features | None = None
    ) -> TranslationStream: ...

    def translate_many(
        self,
        texts: Iterable[str],
        target: str,
        source: str = AUTO,
        max_workers: int | None = None,
        *,
        features: Features | None = None,
    ) -> list[Translation]: ...

    def close(self) -> None: ...
