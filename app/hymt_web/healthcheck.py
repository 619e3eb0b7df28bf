"""`python -m hymt_web.healthcheck`: the image's HEALTHCHECK. GET /healthz on the port the settings say (one default,
in hymt_web.settings); exit 0 when it answers 200."""

from __future__ import annotations

import sys
import urllib.request

from hymt.core.exit import ExitStatus
from hymt_web.settings import Settings, SettingsError


def main() -> int:
    try:
        port = Settings.from_env().port
    except SettingsError as error:
        print(f"hymt web health check: {error}", file=sys.stderr)
        return ExitStatus.FAILURE
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return ExitStatus.OK if response.status == 200 else ExitStatus.FAILURE
    except OSError as error:
        print(f"hymt web health check: {error}", file=sys.stderr)
        return ExitStatus.FAILURE


if __name__ == "__main__":
    sys.exit(main())
