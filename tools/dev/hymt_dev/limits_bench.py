"""What counting the limits costs a request: the in-process Admission against the store of several workers
(hymt_web/shared.py), check_rate + enter + leave for each of --requests requests spread over 50 clients, with limits
that never refuse (docs/performance.md, "Several workers sharing the limits").

    PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.limits_bench [--requests 20000] [--dir /tmp]

Prints microseconds per request for each. It exits 0 whatever the figures: they are for reading, not for passing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hymt_web.admission import Admission
from hymt_web.metrics import Metrics
from hymt_web.settings import Settings
from hymt_web.shared import SharedAdmission, prepare


def per_request(admission: Admission, requests: int) -> float:
    """Microseconds one request's three calls take on average."""
    started = time.perf_counter()
    for n in range(requests):
        client = f"10.0.{n % 50}.1"
        admission.check_rate(client)
        admission.enter(client)
        admission.leave(client)
    return (time.perf_counter() - started) / requests * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.limits_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--dir", default=None, help="where the store goes (default: the temporary directory)")
    args = parser.parse_args(argv)
    huge = 10**9
    settings = Settings(client_burst=huge, client_rate=huge, client_max_in_flight=huge, max_in_flight=huge)
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        prepare(Path(name))
        for label, admission in (
            ("in-process", Admission(settings, Metrics())),
            ("shared store", SharedAdmission(settings, Metrics(), Path(name), "translate")),
        ):
            print(f"{label:<13} {per_request(admission, args.requests):7.1f} us per request (check_rate, enter, leave)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
