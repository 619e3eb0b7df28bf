"""Compatible APIs, for clients that exist: DeepL's API v2 (deepl.py) and LibreTranslate's (libretranslate.py).

Off unless HYMT_COMPAT_APIS names them; they need access keys (HYMT_ACCESS_KEYS_FILE). Each is a translation of
shapes only: its requests go the way of /api/translate (service.py), with its fields, language codes, answers and
errors spelled the way its clients expect. docs/compat.md tells operators how to turn them on and point clients here.
"""

from __future__ import annotations

from fastapi import FastAPI

from hymt_web.compat import deepl, libretranslate
from hymt_web.compat.service import Compat

__all__ = ["Compat", "register"]

_APIS = {"deepl": deepl.register, "libretranslate": libretranslate.register}


def register(app: FastAPI, compat: Compat) -> None:
    """Add the routes of every API the settings name (none by default)."""
    for name in compat.settings.compat:
        _APIS[name](app, compat)
