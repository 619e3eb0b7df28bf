"""Server-sent events, as OpenAI-compatible servers and the project's web gateway stream them.

vLLM sends `data: {json}` events separated by blank lines and ends with `data: [DONE]`; the web gateway names its
events (`event: delta`, `event: done`, `event: error`); proxies may add comment lines (`: keep-alive`) and other
fields. This parser follows the SSE rules: lines end in CRLF, LF or CR; a field's value loses one leading space;
several `data:` lines of one event join with newlines; an event without an `event:` field is a "message"; comments
and other fields are ignored. It yields `None` for a comment, so the caller can tell "the server is alive" from
"the answer grows".
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

DONE = "[DONE]"
DEFAULT_EVENT = "message"


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines from raw chunks, whatever their boundaries (UTF-8 characters may straddle two chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        # A CR at the very end may be the first half of a CRLF: wait for the next chunk to decide.
        while True:
            cut = _line_end(pending)
            if cut is None:
                break
            end, after = cut
            yield pending[:end]
            pending = pending[after:]
    pending += decoder.decode(b"", final=True)
    if pending.endswith("\r"):
        pending = pending[:-1] + "\n"
    while pending:
        cut = _line_end(pending)
        if cut is None:
            yield pending
            return
        yield pending[: cut[0]]
        pending = pending[cut[1] :]


def _line_end(text: str) -> tuple[int, int] | None:
    lf, cr = text.find("\n"), text.find("\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return None if lf == -1 else (lf, lf + 1)
    if cr + 1 == len(text):
        return None  # undecided: CR or CRLF
    return (cr, cr + 2) if text[cr + 1] == "\n" else (cr, cr + 1)


@dataclass(frozen=True)
class Event:
    name: str  # the `event:` field, "message" when there is none
    data: str


def iter_events(lines: Iterable[str]) -> Iterator[str | None]:
    """The data of each event (a str), and None for each comment line."""
    for event in iter_named_events(lines):
        yield None if event is None else event.data


def iter_named_events(lines: Iterable[str]) -> Iterator[Event | None]:
    """Each event with its name, and None for each comment line."""
    data: list[str] = []
    name = DEFAULT_EVENT
    for line in lines:
        if not line:
            if data:
                yield Event(name, "\n".join(data))
            data, name = [], DEFAULT_EVENT
            continue
        if line.startswith(":"):
            yield None
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value or DEFAULT_EVENT
        # "id", "retry" and unknown fields carry nothing a translation needs.
    # An event without its closing blank line is incomplete (the stream was cut): dropped, as the SSE rules say.
