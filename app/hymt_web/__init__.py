"""The web translation app: an async gateway in front of vLLM and the page it serves.

The browser talks only to this app; the app talks to vLLM over the stack's internal network. Languages, prompts,
sampling, source detection and chunking all come from the translation core (`hymt.core`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hymt_web.app import create_app
    from hymt_web.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]


def __getattr__(name: str) -> object:
    # Imported on first use: `hymt` registers its `web` command from this package, and every other command would
    # otherwise pay for importing FastAPI.
    if name == "create_app":
        from hymt_web.app import create_app

        return create_app
    if name in ("Settings", "SettingsError"):
        from hymt_web import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'hymt_web' has no attribute {name!r}")
