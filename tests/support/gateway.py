"""Run the gateway for real (uvicorn on a free loopback port, in a thread) for tests that need a real socket:
streaming as it arrives, client disconnects, and the browser."""

from __future__ import annotations

import signal
import subprocess
import sys
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


def refused_start(environ: dict[str, str]) -> str:
    """What `python -m hymt_web`, started with only `environ` (and a PATH), says when its settings stop it: it must
    exit at once with 2 (a usage error), without a traceback. Its port, 1, is never bound."""
    started = subprocess.run(
        [sys.executable, "-m", "hymt_web", "--port", "1"],
        capture_output=True,
        text=True,
        env={**environ, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert started.returncode == 2, started
    assert "Traceback" not in started.stderr
    return started.stderr


def interrupted(process: subprocess.Popen, timeout: float = 30) -> str:
    """Stop a server started with its output piped, as Ctrl-C does (killed if it has not stopped within `timeout`
    seconds); its output."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]
