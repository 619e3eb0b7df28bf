"""Measure the CPU vLLM image with the rehearsal model: image size, time to /health, memory, answer times.

    .venv/bin/python -m tests.vllm.benchmark [--runs N]

Figures for docs/vllm-cpu.md; nothing here asserts a speed (tests never time things). Needs the image
(`make vllm-cpu-image`) and a Docker engine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from hymt.core.prompts import build_prompt, chat_request
from hymt.rehearsal import generate
from tests.vllm.server import IMAGE, SERVED_NAME, docker, image_exists, vllm_cpu_server

TEXT = "The weather is nice today, so let's take a walk in the park."


def request_body(stream: bool) -> dict[str, object]:
    body = chat_request(build_prompt(TEXT, "zh"), SERVED_NAME, source_text=TEXT, stream=stream)
    # A fixed answer length, whatever the random model says (it rarely says <|eos|>).
    return body | {"max_tokens": 64, "ignore_eos": True}


def measure(base_url: str) -> dict[str, float]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        client.post("/v1/chat/completions", json=request_body(False)).raise_for_status()  # warm-up
        started = time.perf_counter()
        client.post("/v1/chat/completions", json=request_body(False)).raise_for_status()
        answer = time.perf_counter() - started
        started = time.perf_counter()
        with client.stream("POST", "/v1/chat/completions", json=request_body(True)) as response:
            for line in response.iter_lines():
                if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                    first_chunk = time.perf_counter() - started
                    break
    return {"answer_64_tokens_s": answer, "first_stream_chunk_s": first_chunk}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="container starts to measure (default 1)")
    args = parser.parse_args()
    if not image_exists():
        print(f"{IMAGE} is missing; run 'make vllm-cpu-image'", file=sys.stderr)
        return 2
    size = int(docker("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    print(f"image {IMAGE}: {size / 1e9:.2f} GB")
    with tempfile.TemporaryDirectory() as scratch:
        model = generate(Path(scratch) / "hymt-rehearsal").path
        startups = []
        for run in range(1, args.runs + 1):
            with vllm_cpu_server(model) as server:
                startups.append(server.seconds_to_health)
                print(f"run {run}: /health after {server.seconds_to_health:.1f} s, memory {server.memory_usage()}")
                for name, seconds in measure(server.base_url).items():
                    print(f"  {name}: {seconds:.3f}")
                print(f"  memory after requests: {server.memory_usage()}")
    if len(startups) > 1:
        print(f"/health: median {statistics.median(startups):.1f} s, range {min(startups):.1f}-{max(startups):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
