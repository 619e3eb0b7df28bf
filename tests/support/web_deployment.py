"""A web deployment for client tests: the real gateway (uvicorn on a free loopback port, in a thread) in front of the
fake OpenAI server, and a canned front door that answers everything alike (a proxy asking for credentials, a proxy
whose app is down, a site that is not a hymt app)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hymt_web import Settings
from tests.support.fake_openai import FakeOpenAI
from tests.support.gateway import serving


def gateway_settings(fake: FakeOpenAI, **overrides: object) -> Settings:
    values: dict[str, object] = {"upstream_url": fake.url, "served_model": fake.behaviour.model}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def deployment(fake: FakeOpenAI, **overrides: object) -> Iterator[str]:
    """The gateway in front of `fake` with these settings; yields its base URL."""
    with serving(gateway_settings(fake, **overrides)) as url:
        yield url


@dataclass
class FrontDoor:
    """Answers every request with the same status, content type, body and headers; records what it was asked."""

    status: int
    body: str
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, path, headers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FrontDoor:
        door = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                door.requests.append((self.command, self.path, dict(self.headers.items())))
                data = door.body.encode()
                self.send_response(door.status)
                self.send_header("Content-Type", door.content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in door.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="front-door", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def front_door(status: int, body: str, **options: object) -> Iterator[FrontDoor]:
    door = FrontDoor(status, body, **options).start()  # type: ignore[arg-type]
    try:
        yield door
    finally:
        door.stop()
