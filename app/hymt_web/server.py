"""Running the app with uvicorn: shared by `hymt web` and the image's `python -m hymt_web`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=os.environ.get("HYMT_WEB_HOST", DEFAULT_HOST),
        help=f"address to listen on (default: $HYMT_WEB_HOST or {DEFAULT_HOST}; 0.0.0.0 in a container)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("HYMT_WEB_PORT", str(DEFAULT_PORT)),  # argparse converts (and checks) it
        help=f"port to listen on (default: $HYMT_WEB_PORT or {DEFAULT_PORT})",
    )


def serve(host: str, port: int) -> int:
    """Serve the app configured from the environment until interrupted; 2 with a clear message on bad settings."""
    import uvicorn

    from hymt_web.app import create_app
    from hymt_web.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"hymt web: {exc}", file=sys.stderr)
        return 2
    print(
        f"hymt web: serving on http://{host}:{port}/ with {settings.model!r} at {settings.upstream_url} "
        f"(profile {settings.profile})",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        server_header=False,
        timeout_graceful_shutdown=10,
        log_level=os.environ.get("HYMT_LOG_LEVEL", "info").lower(),
    )
    # uvicorn re-raises Ctrl-C after its graceful shutdown: for a server that is the normal way to stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
    return 0
