"""A web deployment for client tests: the real gateway (uvicorn on a free loopback port, in a thread) in front of the
fake OpenAI server, and a canned front door that answers everything alike (a proxy asking for credentials, a proxy
whose app is down, a site that is not a hymt app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hymt_web import Settings
from tests.support.fake_openai import FakeOpenAI
from tests.support.gateway import serving
from tests.support.net import QuietHandler, serve_http, stop_http

# For a gateway that many tests share: they all come from 127.0.0.1, one client to its per-client limits, which are
# not what they test (tests/web/test_fairness.py does).
SHARED_BY_TESTS: dict[str, int] = {"client_burst": 10_000, "client_max_in_flight": 64}


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

        class Handler(QuietHandler):
            def _answer(self) -> None:
                self.read_body()
                door.requests.append((self.command, self.path, dict(self.headers.items())))
                self.reply(door.status, {"Content-Type": door.content_type, **door.headers}, door.body.encode())

            do_GET = do_POST = _answer

        self._server = serve_http(Handler, "front-door")
        return self

    def stop(self) -> None:
        stop_http(self._server)


@contextmanager
def front_door(status: int, body: str, **options: object) -> Iterator[FrontDoor]:
    door = FrontDoor(status, body, **options).start()  # type: ignore[arg-type]
    try:
        yield door
    finally:
        door.stop()
