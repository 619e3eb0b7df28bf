"""Running the app with uvicorn: shared by `hymt web` and the image's `python -m hymt_web`."""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hymt.core.exit import ExitStatus

if TYPE_CHECKING:
    from fastapi import FastAPI
    from uvicorn._types import ASGIApplication

    from hymt_web.settings import Settings

# The environment variable through which the server tells its workers (new interpreters) where the shared directory
# is; not a setting, the server makes the directory at each start.
SHARED_DIR_VARIABLE = "HYMT_WEB_SHARED_DIR"

# How long an idle client connection stays open. The proxy in front (compose/Caddyfile, `keepalive` of its
# reverse_proxy) must give up its idle connections to the app sooner: a connection closed by the app at the moment
# the proxy reuses it for a request makes the proxy answer 502 to a request the app never saw. uvicorn's default, 5 s,
# is far shorter than Caddy's default (2 minutes): under load a few requests met that race.
KEEP_ALIVE_SECONDS = 75


def _default(name: str) -> object:
    from hymt_web.settings import Settings

    return next(item.default for item in fields(Settings) if item.name == name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--host, --port and --workers; unset, they come from the settings (HYMT_WEB_HOST, HYMT_WEB_PORT,
    HYMT_WEB_WORKERS, then the defaults)."""
    parser.add_argument(
        "--host", default=None, help=f"address to listen on (default: $HYMT_WEB_HOST or {_default('host')})"
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"port to listen on (default: $HYMT_WEB_PORT or {_default('port')})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes on the port, which share the limits "
        f"(default: $HYMT_WEB_WORKERS or {_default('web_workers')})",
    )


def serve(host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    """Serve the app configured from the environment until interrupted; a usage status with a clear message on bad
    settings."""
    from hymt.core.tokens import TokenizerError
    from hymt_web.app import create_app
    from hymt_web.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(host=host, port=port, web_workers=workers)
        # Made here with several workers too, each of which makes its own: a bad tokenizer stops the start at once.
        app = create_app(settings)
    except (SettingsError, TokenizerError) as exc:
        print(f"hymt web: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    tokens = app.state.tokens
    processes = f" in {settings.web_workers} processes" if settings.web_workers > 1 else ""
    print(
        f"hymt web: serving on http://{settings.host}:{settings.port}/{processes} with {settings.served_model!r} at "
        f"{settings.upstream_url} (profile {settings.profile}); requests sized by the {tokens.source} "
        f"({tokens.detail})",
        file=sys.stderr,
        flush=True,
    )
    if settings.web_workers > 1:
        del app, tokens  # each worker makes its own: this process only supervises them
        return _serve_workers(settings)
    _run(app, settings)
    return ExitStatus.OK


def worker_app() -> FastAPI:
    """The app of one of several workers (uvicorn's factory, called in each): configured from the environment, with
    the limits and metrics in the directory the server made."""
    from hymt_web.app import create_app
    from hymt_web.settings import Settings

    return create_app(Settings.from_env(), shared=Path(os.environ[SHARED_DIR_VARIABLE]))


def _serve_workers(settings: Settings) -> int:
    """Serve with settings.web_workers uvicorn workers sharing a fresh directory: the limits' store and the metrics'
    files (hymt_web/shared.py). The temporary directory is the container's tmpfs (its root is read-only)."""
    from hymt_web import shared

    with tempfile.TemporaryDirectory(prefix="hymt-web-") as name:
        directory = Path(name)
        shared.prepare(directory)
        # The workers are new interpreters (uvicorn spawns them) that inherit the environment: prometheus_client
        # reads PROMETHEUS_MULTIPROC_DIR when it is first imported, in each.
        os.environ[SHARED_DIR_VARIABLE] = str(directory)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared.metrics_dir(directory))
        _run("hymt_web.server:worker_app", settings, factory=True, workers=settings.web_workers)
    return ExitStatus.OK


def _run(app: ASGIApplication | str, settings: Settings, **options: Any) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        server_header=False,
        # The app applies uvicorn's ProxyHeadersMiddleware itself, trusting HYMT_FORWARDED_ALLOW_IPS (not uvicorn's
        # FORWARDED_ALLOW_IPS), so that in-process tests see what a server sees.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        log_level=settings.log_level,
        log_config=_log_config(settings.log_level),
        **options,
    )
    # uvicorn re-raises Ctrl-C after its graceful shutdown: for a server that is the normal way to stop.
    with contextlib.suppress(KeyboardInterrupt):
        if config.workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()


def _log_config(level: str) -> dict[str, object]:
    """uvicorn's logging, plus the access control's log (which key, by its label, asked for a translation) at the
    same level and in the same format."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["hymt_web.access"] = {
        "handlers": ["default"],
        "level": "DEBUG" if level == "trace" else level.upper(),
        "propagate": False,
    }
    return config
