"""Measure `hymt model fetch` and `hymt model check` against the stand-in hub on loopback.

    .venv/bin/python -m tests.model.benchmark [--size-mb 256]

Figures for docs/model.md; nothing here asserts a speed (tests never time things). The stand-in hub is a
single-threaded Python server, so the rates measure hymt's own overhead (and the stand-in's), not a network.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
from pathlib import Path

from hymt.model.check import check
from hymt.model.fetch import FetchRequest, fetch
from hymt.model.hubs.huggingface import HuggingFaceHub
from hymt.model.hubs.modelscope import ModelScopeHub
from hymt.model.progress import Progress
from hymt.model.settings import HubSettings
from tests.support.fake_hub import FakeHub, tiny_repository


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256, help="size of the large file (default 256)")
    args = parser.parse_args(argv)
    size = args.size_mb * 1_000_000
    files = tiny_repository("bench", large_size=1000) | {"model.safetensors": random.Random(7).randbytes(size)}
    hub = FakeHub().start()
    hub.add_repo("bench/model", files)
    hub.add_repo("bench/model-ms", files, branch="master")
    quiet = Progress(io.StringIO(), tty=False)
    rows = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            huggingface = HuggingFaceHub(HubSettings.resolve("huggingface", hub.url, env={}), quiet.note)
            seconds = timed(lambda: fetch(FetchRequest("bench/model", root / "hf"), huggingface, quiet))
            rows["fetch, Hugging Face API (huggingface_hub)"] = seconds
            modelscope = ModelScopeHub(HubSettings.resolve("modelscope", hub.url, env={}), quiet.note)
            seconds = timed(lambda: fetch(FetchRequest("bench/model-ms", root / "ms"), modelscope, quiet))
            rows["fetch, ModelScope API (requests)"] = seconds
            rows["check (SHA-256 of every file)"] = timed(lambda: check(root / "hf", quiet))
            rows["check --quick (sizes)"] = timed(lambda: check(root / "hf", quiet, hashes=False))
    finally:
        hub.stop()
    total = sum(len(data) for data in files.values())
    for name, seconds in rows.items():
        print(json.dumps({"what": name, "mb": round(total / 1e6), "seconds": round(seconds, 2),
                          "mb_per_s": round(total / 1e6 / seconds, 1)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
