"""Small network helpers for tests: free loopback ports, polling until something happens, and little HTTP servers
answering from a thread."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def connects(address: str, port: int) -> bool:
    """Whether a TCP connection gets through (a firewall that drops packets lets it time out)."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


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


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's request handler: HTTP/1.1, no log lines, whole answers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve_http(
    handler: type[BaseHTTPRequestHandler], name: str, tls: ssl.SSLContext | None = None
) -> ThreadingHTTPServer:
    """`handler`'s server on a free port of 127.0.0.1 (over TLS with `tls`), answering from a daemon thread; end it
    with stop_http."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


def stop_http(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
