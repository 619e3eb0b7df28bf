"""Small network helpers for tests: free loopback ports and polling until something happens."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], bool],
    what: str,
    timeout: float = 15.0,
    interval: float = 0.05,
    not_yet: tuple[type[BaseException], ...] = (),
) -> None:
    """Poll `condition` until it is true; AssertionError naming `what` after `timeout` seconds.

    Exceptions of the `not_yet` types (e.g. a connection refused while a server starts) count as "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except not_yet:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout:g} s: {what}")
        time.sleep(interval)
