"""Clients for tests: a factory fixture's body that builds SDK clients on demand and closes every one afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def closing_factory(build: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Yield `build` wrapped so that each client it makes is closed when the fixture ends (use with `yield from`)."""
    clients: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        client = build(*args, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
