"""A small OpenAI-compatible server for tests, behaving like vLLM where the project relies on it.

It records every request it receives, answers /health, /v1/models and /v1/chat/completions (plain or streamed as
server-sent events), and can fail, stall or go down on demand: tests change its `behaviour` directly, or through
`POST /_control` when it runs in another process (`python -m tests.support.fake_openai --port 8099`).

The answer to a translation request is derived from the request, so tests can check what reached the model:
by default it is "<target name> translation of: <source text>" (the target name taken from the prompt).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PROMPT_TARGET = re.compile(r"(?:into (?P<en>[^,]+), without|翻译成(?P<zh1>[^，]+)，|翻译为(?P<zh2>[^，]+)，)")


def default_reply(prompt: str) -> str:
    """A recognisable answer: names the target the prompt asked for and repeats the source text."""
    head, _, source = prompt.partition("\n\n")
    match = _PROMPT_TARGET.search(head)
    target = next((g for g in match.groups() if g), "?") if match else "?"
    return f"{target} translation of: {source}"


@dataclass
class Behaviour:
    """What the server does next. Tests may change any field at any time."""

    model: str = "Hunyuan-MT-7B"
    api_key: str | None = None  # when set, /v1/* needs "Authorization: Bearer <key>" (like vLLM's --api-key)
    healthy: bool = True  # /health answers 200, else 503 (a dead engine)
    reply: Callable[[str], str] = default_reply
    chunk_chars: int = 4  # streamed answers come in pieces of this many characters
    chunk_delay: float = 0.0  # seconds between streamed pieces
    delay: float = 0.0  # seconds before any /v1 answer starts (a stall when long)
    completion_delay: float = 0.0  # seconds before a chat completion starts, /health and /v1/models answering at once
    # Seconds more before a one-token completion (the gateway's readiness probe) starts: a busy engine whose queue
    # holds the probe back while it keeps answering translations.
    probe_delay: float = 0.0
    fail_status: int | None = None  # answer /v1/chat/completions with this status ...
    fail_count: int = 0  # ... this many times (then recover); -1 for always
    fail_body: dict | None = None
    fail_headers: dict[str, str] | None = None  # extra headers of a planned failure (e.g. {"Retry-After": "2"})
    drop_connection: int = 0  # close the connection without an answer this many times
    stall_stream_after: int | None = None  # stop sending (but keep the stream open) after this many pieces
    stall_keepalive: bool = True  # while stalled, send SSE comments (False: silence, like a hung vLLM engine)
    drop_stream_after: int | None = None  # close the connection, mid-stream, after this many pieces
    finish_reason: str = "stop"  # "length": the answer pretends to have stopped at max_tokens
    # Streams in chunked encoding on a connection kept open for the next request, as vLLM's server does; off, each
    # stream ends by closing its connection (what the tests of dropped and stalled streams were written against).
    keep_alive: bool = False
    # Streamed pieces sent together, in one write (as a busy vLLM's pieces reach a gateway that is slower to read).
    pieces_per_write: int = 1
    # Seconds between `data: [DONE]` and the end of the chunked body (vLLM's come back to back, but a busy gateway
    # reads the one before the other arrives).
    end_delay: float = 0.0
    # A plain (not streamed) answer takes as long as its stream would: chunk_delay for each piece after the first, as a
    # server generating the whole answer before sending it does (off: a plain answer comes at once after the delays).
    pace_plain: bool = False
    plain_usage: bool = True  # a plain answer carries its usage figure (vLLM's always does; some servers send none)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    client_port: int = 0  # the connection's port on the client's side: which requests shared a connection


@dataclass
class FakeOpenAI:
    host: str = "127.0.0.1"
    port: int = 0
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Recorded] = field(default_factory=list)
    streams_started: int = 0
    streams_completed: int = 0
    streams_cancelled: int = 0  # the client went away before the stream ended
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The OpenAI-style base URL, ending in /v1."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    def chat_requests(self) -> list[dict]:
        """The chat completions asking for a translation (the gateway's one-token readiness probes aside)."""
        return [body for body in self._completions() if body.get("max_tokens") != 1]

    def probes(self) -> list[dict]:
        """The one-token completions the gateway's /readyz asks for."""
        return [body for body in self._completions() if body.get("max_tokens") == 1]

    def _completions(self) -> list[dict]:
        return [r.body for r in self.requests if r.path == "/v1/chat/completions" and r.body is not None]

    def reset(self) -> None:
        with self._lock:
            self.behaviour = Behaviour()
            self.requests.clear()
            self.streams_started = self.streams_completed = self.streams_cancelled = 0

    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take_failure(self) -> tuple[str, int | None]:
        """Consume one planned failure: ("drop", None), ("status", code) or ("ok", None)."""
        with self._lock:
            b = self.behaviour
            if b.drop_connection:
                b.drop_connection -= 1
                return "drop", None
            if b.fail_status is not None and b.fail_count != 0:
                if b.fail_count > 0:
                    b.fail_count -= 1
                return "status", b.fail_status
            return "ok", None


@contextmanager
def running(**behaviour: object) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(behaviour=Behaviour(**behaviour)).start()  # type: ignore[arg-type]
    try:
        yield fake
    finally:
        fake.stop()


class _QuietServer(ThreadingHTTPServer):
    # Connections waiting to be accepted: socketserver's 5 drops the rest of a burst of new connections (64 streams
    # opening at once), each then retried after a second; vLLM's server (uvicorn) allows 2048.
    request_queue_size = 2048

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a test's tiny timeout) is expected; anything else is still reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"
    # Each piece goes out when written, as from vLLM's server (asyncio sets TCP_NODELAY): with Nagle's algorithm a
    # piece written while the last is not yet acknowledged waits for the reader's delayed ACK (up to 40 ms) on a
    # connection kept for the next request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # -- helpers -------------------------------------------------------------------------------------------------
    def _send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return {"_raw": raw.decode(errors="replace")}

    def _record(self, body: dict | None) -> None:
        with self.fake._lock:
            recorded = Recorded(self.command, self.path, dict(self.headers.items()), body, self.client_address[1])
            self.fake.requests.append(recorded)

    def _authorized(self) -> bool:
        key = self.fake.behaviour.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send_json(401, {"error": "Unauthorized"})
        return False

    # -- routes --------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._record(None)
        b = self.fake.behaviour
        if self.path == "/health":
            self.send_response(200 if b.healthy else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/v1/models":
            if self._authorized():
                time.sleep(b.delay)
                self._send_json(
                    200, {"object": "list", "data": [{"id": b.model, "object": "model", "owned_by": "vllm"}]}
                )
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "code": 404}})

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path == "/_control":
            self._control(body or {})
            return
        self._record(body)
        if self.path != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "code": 404}})
            return
        if not self._authorized():
            return
        b = self.fake.behaviour
        probe = isinstance(body, dict) and body.get("max_tokens") == 1
        time.sleep(b.delay + b.completion_delay + (b.probe_delay if probe else 0))
        kind, status = self.fake.take_failure()
        if kind == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if kind == "status":
            self._send_json(
                status,
                b.fail_body or {"error": {"message": "planned failure", "type": "Fake", "code": status}},
                b.fail_headers,
            )
            return
        body = body or {}
        if body.get("model") != b.model:
            self._send_json(
                404,
                {
                    "error": {
                        "message": f"The model `{body.get('model')}` does not exist.",
                        "type": "NotFoundError",
                        "code": 404,
                    }
                },
            )
            return
        messages = body.get("messages") or [{}]
        answer = b.reply(str(messages[-1].get("content", "")))
        if body.get("stream"):
            self._stream(answer)
        else:
            pieces = max(1, -(-len(answer) // b.chunk_chars))  # as many as its stream would have
            if b.pace_plain:
                time.sleep(b.chunk_delay * (pieces - 1))
            self._send_json(200, _completion(b.model, answer, b.finish_reason, pieces if b.plain_usage else None))

    def _stream(self, answer: str) -> None:
        fake, b = self.fake, self.fake.behaviour
        with fake._lock:
            fake.streams_started += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self._chunked = b.keep_alive
        self._held = b""  # events to go out in one write with the next (pieces_per_write)
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        pieces = [answer[i : i + b.chunk_chars] for i in range(0, len(answer), b.chunk_chars)] or [""]
        try:
            self._event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
            for n, piece in enumerate(pieces):
                if b.stall_stream_after is not None and n >= b.stall_stream_after:
                    # Keep the connection open, sending nothing, until the client gives up.
                    while True:
                        time.sleep(0.05)
                        if b.stall_keepalive:
                            self._write(b": \n\n")  # an SSE comment: detects a client that went away
                            self.wfile.flush()
                        elif fake._server is None or b is not fake.behaviour:
                            return  # silent: stop when the server stops or the test resets it
                if b.drop_stream_after is not None and n >= b.drop_stream_after:
                    self.connection.shutdown(socket.SHUT_RDWR)  # the server died mid-answer: no finish, no [DONE]
                    return
                together = (n + 1) % b.pieces_per_write and n + 1 < len(pieces)
                self._event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}, together)
                if not together:
                    time.sleep(b.chunk_delay)
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": b.finish_reason}]})
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            with fake._lock:
                fake.streams_cancelled += 1
            return
        # Counted before [DONE] goes out: a client that stops reading at [DONE] may check the count at once.
        with fake._lock:
            fake.streams_completed += 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            self._write(b"data: [DONE]\n\n")
            if self._chunked:
                self.wfile.flush()
                time.sleep(b.end_delay)
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _event(self, chunk: dict, more: bool = False) -> None:
        """One event of the stream; `more`: held back to go out in one write with the next."""
        payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": self.fake.behaviour.model}
        payload.update(chunk)
        self._held += f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()
        if not more:
            self._write(self._held)
            self._held = b""
            self.wfile.flush()

    def _write(self, data: bytes) -> None:
        """Part of a streamed body: as one chunk of the chunked encoding when the connection is kept open."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)

    def _control(self, settings: dict) -> None:
        b = self.fake.behaviour
        if settings.pop("reset", False):
            self.fake.reset()
            b = self.fake.behaviour
        if "reply_text" in settings:
            text = settings.pop("reply_text")
            b.reply = lambda _prompt: text
        for key, value in settings.items():
            if not hasattr(b, key) or key == "reply":
                self._send_json(400, {"error": f"unknown setting {key}"})
                return
            setattr(b, key, value)
        self._send_json(200, {"ok": True})


def _completion(model: str, answer: str, finish_reason: str, tokens: int | None) -> dict:
    """A plain answer; `tokens`: its usage figure (as many as its stream's pieces: a piece is one token), None for no
    usage."""
    completion: dict = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish_reason}],
    }
    if tokens is not None:
        completion["usage"] = {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens}
    return completion


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake OpenAI-compatible server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--model", default="Hunyuan-MT-7B")
    args = parser.parse_args()
    fake = FakeOpenAI(host=args.host, port=args.port, behaviour=Behaviour(model=args.model)).start()
    print(f"fake OpenAI server on {fake.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
