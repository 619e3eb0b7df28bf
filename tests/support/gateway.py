"""Run the gateway for real (uvicorn on a free loopback port, in a thread) for tests that need a real socket:
streaming as it arrives, client disconnects, and the browser."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from hymt_web import Settings, create_app
from tests.support.net import free_port


@contextmanager
def serving(settings: Settings, host: str = "127.0.0.1") -> Iterator[str]:
    """The app for `settings` served on `host` (a loopback or bridge address); yields its base URL (no trailing
    slash)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        proxy_headers=False,  # as hymt_web.server runs it: the app reads X-Forwarded-For itself
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"hymt-web-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web app did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
