"""The web translation app: an async gateway in front of vLLM and the page it serves.

The browser talks only to this app; the app talks to vLLM over the stack's internal network. Languages, prompts,
sampling, source detection and chunking all come from the translation core (`hymt.core`).
"""

from hymt_web.app import create_app
from hymt_web.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]
