"""Running the app with uvicorn: shared by `hymt web` and the image's `python -m hymt_web`."""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
from dataclasses import fields

from hymt.core.exit import ExitStatus

# How long an idle client connection stays open. The proxy in front (compose/Caddyfile, `keepalive` of its
# reverse_proxy) must give up its idle connections to the app sooner: a connection closed by the app at the moment
# the proxy reuses it for a request makes the proxy answer 502 to a request the app never saw. uvicorn's default, 5 s,
# is far shorter than Caddy's default (2 minutes): under load a few requests met that race.
KEEP_ALIVE_SECONDS = 75


def _default(name: str) -> object:
    from hymt_web.settings import Settings

    return next(item.default for item in fields(Settings) if item.name == name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--host and --port; unset, they come from the settings (HYMT_WEB_HOST, HYMT_WEB_PORT, then the defaults)."""
    parser.add_argument(
        "--host", default=None, help=f"address to listen on (default: $HYMT_WEB_HOST or {_default('host')})"
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"port to listen on (default: $HYMT_WEB_PORT or {_default('port')})"
    )


def serve(host: str | None = None, port: int | None = None) -> int:
    """Serve the app configured from the environment until interrupted; a usage status with a clear message on bad
    settings."""
    import uvicorn

    from hymt.core.tokens import TokenizerError
    from hymt_web.app import create_app
    from hymt_web.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(host=host, port=port)
        app = create_app(settings)
    except (SettingsError, TokenizerError) as exc:
        print(f"hymt web: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    tokens = app.state.tokens
    print(
        f"hymt web: serving on http://{settings.host}:{settings.port}/ with {settings.served_model!r} at "
        f"{settings.upstream_url} (profile {settings.profile}); requests sized by the {tokens.source} "
        f"({tokens.detail})",
        file=sys.stderr,
        flush=True,
    )
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
    )
    # uvicorn re-raises Ctrl-C after its graceful shutdown: for a server that is the normal way to stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
    return ExitStatus.OK


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
