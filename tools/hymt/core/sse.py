"""The OpenAI streaming protocol, read in one place: server-sent events as OpenAI-compatible servers (vLLM) and the
project's web gateway stream them, and the chat-completion chunks inside vLLM's. The SDK, the gateway and `hymt verify`
all read streams with this module.

vLLM sends `data: {json}` events separated by blank lines and ends with `data: [DONE]`; the web gateway names its
events (`event: delta`, `event: done`, `event: error`); proxies may add comment lines (`: keep-alive`) and other
fields. This parser follows the SSE rules: lines end in CRLF, LF or CR; a field's value loses one leading space;
several `data:` lines of one event join with newlines; an event without an `event:` field is a "message"; comments
and other fields are ignored. It yields `None` for a comment, so the caller can tell "the server is alive" from
"the answer grows".
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

DONE = "[DONE]"
DEFAULT_EVENT = "message"


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines from raw chunks, whatever their boundaries (UTF-8 characters may straddle two chunks)."""
    splitter = LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.end()


class LineSplitter:
    """Text lines from raw chunks fed one at a time (for callers whose chunks arrive asynchronously, such as the
    gateway's): every line a chunk completes at once, so a caller can handle all that arrived together in one go."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        """The lines this chunk completes."""
        pending = self._pending + self._decoder.decode(chunk)
        lines = []
        # A CR at the very end may be the first half of a CRLF: wait for the next chunk to decide.
        while (cut := _line_end(pending)) is not None:
            end, after = cut
            lines.append(pending[:end])
            pending = pending[after:]
        self._pending = pending
        return lines

    def end(self) -> list[str]:
        """The last line, when the body did not end with a line break."""
        pending = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        if pending.endswith("\r"):
            pending = pending[:-1] + "\n"
        lines = []
        while pending:
            cut = _line_end(pending)
            if cut is None:
                lines.append(pending)
                break
            lines.append(pending[: cut[0]])
            pending = pending[cut[1] :]
        return lines


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
    reader = EventReader()
    for line in lines:
        yield from reader.line(line)
    # An event without its closing blank line is incomplete (the stream was cut): dropped, as the SSE rules say.


class EventReader:
    """Events from lines fed one at a time (for callers whose lines arrive asynchronously, such as the gateway's)."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._name = DEFAULT_EVENT

    def line(self, line: str) -> list[Event | None]:
        """What this line completes: an event (at a blank line), None for a comment line, or nothing."""
        if not line:
            event = Event(self._name, "\n".join(self._data)) if self._data else None
            self._data, self._name = [], DEFAULT_EVENT
            return [event] if event else []
        if line.startswith(":"):
            return [None]
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._name = value or DEFAULT_EVENT
        # "id", "retry" and unknown fields carry nothing a translation needs.
        return []


# ---- the chat-completion chunks of an OpenAI-compatible stream -------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """What one event of a chat-completion stream says."""

    content: str = ""  # the text it adds ("" for the role-only first chunk or a usage-only one)
    finish_reason: str | None = None  # "stop", "length" ... once the model is done
    done: bool = False  # the closing `data: [DONE]`


class StreamProtocolError(ValueError):
    """An event that is not a chat-completion chunk, or an error the server sent inside the stream.

    kind: "not_json", "unexpected" (JSON, but not an object) or "error" (the server reported a failure: `detail`)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def error_message(payload: object, limit: int = 200) -> str:
    """The human part of an OpenAI/vLLM error body: {"error": {"message": ...}}, {"message": ...}, {"error": "..."}."""
    if isinstance(payload, dict):
        inner = payload.get("error", payload)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:limit]
        if isinstance(inner, str):
            return inner[:limit]
    return "no details"


def chat_delta(data: str) -> Delta:
    """One event's data of an OpenAI-compatible chat-completion stream; StreamProtocolError when it is not one."""
    if data.strip() == DONE:
        return Delta(done=True)
    try:
        chunk = json.loads(data)
    except ValueError:
        raise StreamProtocolError("not_json", data) from None
    if not isinstance(chunk, dict):
        raise StreamProtocolError("unexpected", data)
    if "error" in chunk or chunk.get("object") == "error":
        raise StreamProtocolError("error", error_message(chunk))
    content, finish_reason = [], None
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        piece = (choice.get("delta") or {}).get("content")
        if isinstance(piece, str):
            content.append(piece)
        finish_reason = choice.get("finish_reason") or finish_reason
    return Delta("".join(content), finish_reason)


def completion_tokens(answer: object) -> int | None:
    """The output tokens an OpenAI-compatible answer (a plain one, or a stream's chunk) reports in its usage
    (`usage.completion_tokens`), or None when it reports none."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
