"""The rest of the gateway: languages and info, health and readiness, metrics, settings and `hymt web`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from hymt import __version__
from hymt.core.languages import LANGUAGES
from hymt_web import Settings, SettingsError
from tests.support.gateway import interrupted
from tests.support.net import free_port
from tests.web.conftest import gateway, settings_for

pytestmark = pytest.mark.anyio


async def test_languages_come_from_the_core_with_their_direction(fake):
    async with gateway(settings_for(fake)) as client:
        response = await client.get("/api/languages")
    languages = response.json()["languages"]
    assert languages == [lang.as_dict() for lang in LANGUAGES]
    assert len(languages) == 38
    assert {lang["code"] for lang in languages if lang["rtl"]} == {"ar", "fa", "ur", "he", "ug"}


async def test_info_tells_the_model_profile_limit_and_version(fake):
    async with gateway(settings_for(fake, profile="rehearsal", max_chars=1234)) as client:
        response = await client.get("/api/info")
    assert response.json() == {
        "model": fake.behaviour.model,
        "catalogue": {"model_id": "tencent/Hunyuan-MT-7B", "family": "hunyuan-mt", "status": "supported"},
        "prompt_family": "hunyuan-mt",
        "prompt_family_from": "catalogue",
        "features": {
            "glossary": {"available": False, "families": ["hy-mt1.5", "hy-mt2"]},
            "context": {"available": False, "families": ["hy-mt1.5", "hy-mt2"]},
            "style": {"available": False, "families": ["hy-mt2"]},
            "format": {"available": False, "families": ["hy-mt2"]},
            "delimiters": {"available": False, "families": ["hy-mt2"]},
        },
        "profile": "rehearsal",
        "max_chars": 1234,
        "token_count": "estimate",
        "access_key_required": False,
        "version": __version__,
    }


async def test_info_says_what_the_catalogue_knows_of_the_model_and_nothing_of_others(fake):
    async with gateway(settings_for(fake, served_model="HY-MT1.5-7B")) as client:
        known = (await client.get("/api/info")).json()
    async with gateway(settings_for(fake, served_model="my-translator")) as client:
        unknown = (await client.get("/api/info")).json()
    assert known["catalogue"]["model_id"] == "tencent/HY-MT1.5-7B" and known["prompt_family"] == "hy-mt1.5"
    assert unknown["catalogue"] is None and unknown["prompt_family"] == "hunyuan-mt"
    assert (known["prompt_family_from"], unknown["prompt_family_from"]) == ("catalogue", "default")


async def test_info_says_the_family_set_for_a_name_the_catalogue_does_not_know(fake):
    async with gateway(settings_for(fake, served_model="my-translator", model_family="hy-mt2")) as client:
        info = (await client.get("/api/info")).json()
    assert (info["prompt_family"], info["prompt_family_from"]) == ("hy-mt2", "setting")


@pytest.mark.parametrize(
    ("served", "family", "available"),
    [
        ("HY-MT1.5-7B", "", ["glossary", "context"]),
        ("Hy-MT2-7B", "", ["glossary", "context", "style", "format", "delimiters"]),
        ("my-translator", "hy-mt2", ["glossary", "context", "style", "format", "delimiters"]),
        ("my-translator", "", []),  # no family: plain translation only
    ],
)
async def test_info_says_which_features_the_served_model_is_sent(fake, served, family, available):
    async with gateway(settings_for(fake, served_model=served, model_family=family)) as client:
        features = (await client.get("/api/info")).json()["features"]
    assert [name for name, feature in features.items() if feature["available"]] == available


async def test_healthz_answers_even_when_the_model_is_down():
    closed = f"http://127.0.0.1:{free_port()}/v1"
    async with gateway(Settings(upstream_url=closed)) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200


async def test_readyz_checks_health_at_the_server_root_and_the_model_list(fake):
    async with gateway(settings_for(fake)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "model": fake.behaviour.model}
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/health"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]
    (probe,) = fake.probes()
    assert probe["max_tokens"] == 1 and probe["model"] == fake.behaviour.model and probe["stream"] is False


async def test_readyz_is_503_while_the_model_loads(fake, caplog):
    fake.behaviour.healthy = False
    async with gateway(settings_for(fake)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_not_ready" and "not ready" in error["message"]
    assert "/health answers 503" in caplog.text


async def test_readyz_is_503_when_the_model_is_not_listed_and_only_the_log_says_which(fake, caplog):
    async with gateway(settings_for(fake, served_model="tencent/Hunyuan-MT-7B-fp8")) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_not_ready"
    assert "Hunyuan" not in error["message"]  # no model names, no model list: those go to the log
    assert "'tencent/Hunyuan-MT-7B-fp8'" in caplog.text and fake.behaviour.model in caplog.text


async def test_readyz_is_503_when_the_upstream_is_unreachable():
    closed = f"http://127.0.0.1:{free_port()}/v1"
    async with gateway(Settings(upstream_url=closed)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unreachable"


async def test_readyz_probes_are_shared_so_many_open_pages_do_not_flood_the_model(fake):
    async with gateway(settings_for(fake)) as client:
        answers = await asyncio.gather(*(client.get("/readyz") for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert [r.path for r in fake.requests] == ["/health", "/v1/models", "/v1/chat/completions"]


async def test_readyz_is_503_within_the_probe_timeout_when_the_engine_is_wedged_but_answers_health(fake, caplog):
    fake.behaviour.completion_delay = 30  # /health and /v1/models answer at once; no token ever comes
    async with gateway(settings_for(fake, ready_probe_timeout=0.5)) as client:
        started = time.monotonic()
        answers = await asyncio.gather(*(client.get("/readyz") for _ in range(10)))
        waited = time.monotonic() - started
    assert {a.status_code for a in answers} == {503}
    assert waited < 5  # the probe's timeout, not the stand-in's 30 s
    body = answers[0].json()["error"]
    assert body["code"] == "upstream_not_ready" and "HYMT_" not in body["message"] and "token" not in body["message"]
    assert answers[0].headers["Retry-After"]
    assert len(fake.probes()) == 1  # ten callers, one generation
    assert "generated no token in 0.5 s" in caplog.text


async def test_readyz_is_503_when_the_one_token_generation_fails(fake, caplog):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 500, -1
    fake.behaviour.fail_body = {"error": {"message": "EngineDeadError: the engine loop stopped", "code": 500}}
    async with gateway(settings_for(fake)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert "Engine" not in response.text and "EngineDeadError" in caplog.text


async def test_readyz_asks_for_a_token_at_most_once_an_interval_and_turns_ready_when_the_engine_recovers(fake):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 500, -1
    async with gateway(settings_for(fake, ready_probe_interval=3.0)) as client:
        failing = [await client.get("/readyz") for _ in range(3)]
        await asyncio.sleep(2.1)  # past the 2 s that /health's answer is kept: only the generation's failure stands
        still = await client.get("/readyz")
        assert len(fake.probes()) == 1
        fake.behaviour.fail_status = None
        await asyncio.sleep(2.1)  # the failed generation's 3 s are over
        recovered = await client.get("/readyz")
    assert [a.status_code for a in failing] == [503] * 3
    assert still.status_code == 503 and recovered.status_code == 200
    assert len(fake.probes()) == 2


async def test_readyz_is_200_when_a_busy_engine_holds_the_probe_back_but_answers_a_translation_meanwhile(fake):
    # A loaded engine: every completion takes 1 s, and the one-token probe waits far past its 3 s timeout.
    fake.behaviour.completion_delay, fake.behaviour.probe_delay = 1.0, 30
    async with gateway(settings_for(fake, ready_probe_timeout=3.0)) as client:
        ready, translated = await asyncio.gather(
            client.get("/readyz"), client.post("/api/translate", json={"text": "hello", "target": "zh"})
        )
    assert translated.status_code == 200
    assert ready.status_code == 200, ready.text  # the translation's answer showed the engine generating
    assert len(fake.probes()) == 1


async def test_readyz_is_503_when_a_busy_engine_holds_the_probe_back_and_nothing_else_comes(fake):
    fake.behaviour.completion_delay, fake.behaviour.probe_delay = 1.0, 30
    async with gateway(settings_for(fake, ready_probe_timeout=1.5)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "upstream_not_ready"


async def test_readyz_asks_no_token_while_translations_show_the_model_generating(fake):
    async with gateway(settings_for(fake)) as client:
        translated = await client.post("/api/translate", json={"text": "hello", "target": "zh"})
        ready = await client.get("/readyz")
    assert translated.status_code == 200 and ready.status_code == 200
    assert len(fake.chat_requests()) == 1 and fake.probes() == []  # the translation showed the model generating


async def test_readyz_sends_the_api_key_to_the_model_list(fake, caplog):
    fake.behaviour.api_key = "k"
    async with gateway(settings_for(fake, api_key="k")) as client:
        good = await client.get("/readyz")
    async with gateway(settings_for(fake)) as client:
        keyless = await client.get("/readyz")
    assert good.status_code == 200
    assert keyless.status_code == 503 and "HYMT_" not in keyless.json()["error"]["message"]
    assert "HYMT_API_KEY" in caplog.text


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (labels in any order), or 0 when absent."""
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            if found == labels:
                return float(match.group(2))
    return 0.0


async def test_metrics_count_requests_latency_in_flight_and_upstream_errors(fake):
    async with gateway(settings_for(fake)) as client:
        await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
        await client.post("/api/translate", json={"text": "", "target": "fr"})
        fake.behaviour.fail_status, fake.behaviour.fail_count = 500, 1
        await client.post("/api/translate", json={"text": "Hello", "target": "fr"})
        await client.get("/no/such/page")
        metrics = (await client.get("/metrics")).text
        # A second app has counts of its own.
        async with gateway(settings_for(fake)) as other:
            other_metrics = (await other.get("/metrics")).text
    route = "/api/translate"
    assert sample(metrics, "hymt_web_requests_total", route=route, method="POST", status="200") == 1
    assert sample(metrics, "hymt_web_requests_total", route=route, method="POST", status="422") == 1
    assert sample(metrics, "hymt_web_requests_total", route=route, method="POST", status="502") == 1
    assert sample(metrics, "hymt_web_requests_total", route="unmatched", method="GET", status="404") == 1
    assert sample(metrics, "hymt_web_request_duration_seconds_count", route=route) == 3
    assert sample(metrics, "hymt_web_translations_in_flight") == 0
    assert sample(metrics, "hymt_web_upstream_errors_total", code="upstream_error") == 1
    assert sample(other_metrics, "hymt_web_requests_total", route=route, method="POST", status="200") == 0


async def test_every_refusal_reason_and_upstream_error_is_exported_at_zero_before_it_happens(fake):
    async with gateway(settings_for(fake)) as client:
        metrics = (await client.get("/metrics")).text
    # Written out here, not taken from the code: the alerts of the monitoring profile read these series.
    for reason in ("client_rate", "client_in_flight", "in_flight"):
        assert f'hymt_web_refused_total{{reason="{reason}"}} 0.0' in metrics
    for code in ("upstream_unreachable", "upstream_not_ready", "upstream_timeout", "upstream_error"):
        assert f'hymt_web_upstream_errors_total{{code="{code}"}} 0.0' in metrics


def test_settings_come_from_the_environment():
    settings = Settings.from_env(
        {
            "HYMT_UPSTREAM_URL": "http://vllm:8000/v1/",
            "HYMT_API_KEY": "key",
            "HYMT_SERVED_MODEL": "tencent/Hunyuan-MT-7B-fp8",
            "HYMT_PROFILE": "Rehearsal",
            "HYMT_MAX_CHARS": "800",
            "HYMT_MAX_IN_FLIGHT": "3",
            "HYMT_READ_TIMEOUT": "2.5",
            "HYMT_REQUEST_TIMEOUT": "",  # empty means the default
        }
    )
    assert settings.upstream_url == "http://vllm:8000/v1"
    assert settings.upstream_root == "http://vllm:8000"
    assert (settings.api_key, settings.served_model, settings.profile) == (
        "key",
        "tencent/Hunyuan-MT-7B-fp8",
        "rehearsal",
    )
    assert (settings.max_chars, settings.max_in_flight, settings.read_timeout) == (800, 3, 2.5)
    assert settings.request_timeout == Settings().request_timeout
    assert Settings.from_env({}).max_chars == 5000


def test_every_bad_setting_is_named_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "HYMT_UPSTREAM_URL": "vllm:8000",
                "HYMT_PROFILE": "cpu",
                "HYMT_MAX_CHARS": "lots",
                "HYMT_MAX_IN_FLIGHT": "0",
                "HYMT_CONNECT_TIMEOUT": "-1",
            }
        )
    message = str(caught.value)
    for variable in (
        "HYMT_UPSTREAM_URL",
        "HYMT_PROFILE",
        "HYMT_MAX_CHARS",
        "HYMT_MAX_IN_FLIGHT",
        "HYMT_CONNECT_TIMEOUT",
    ):
        assert variable in message
    assert len(caught.value.problems) == 5


def test_hymt_web_refuses_bad_settings_in_words():
    env = {**os.environ, "HYMT_PROFILE": "laptop", "HYMT_MAX_CHARS": "-5"}
    result = subprocess.run(
        [sys.executable, "-m", "hymt.cli.main", "web", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HYMT_PROFILE='laptop'" in result.stderr and "HYMT_MAX_CHARS=-5" in result.stderr
    assert "Traceback" not in result.stderr


def test_hymt_web_serves_the_page_and_api_configured_from_the_environment(fake):
    port = free_port()
    env = {
        **os.environ,
        "HYMT_UPSTREAM_URL": fake.url,
        "HYMT_SERVED_MODEL": fake.behaviour.model,
        "HYMT_MAX_CHARS": "777",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hymt.cli.main", "web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "hymt web exited early"
            assert time.monotonic() < deadline, "hymt web did not answer /healthz"
            time.sleep(0.1)
        assert httpx.get(f"{base}/api/info").json()["max_chars"] == 777
        assert "<title>" in httpx.get(f"{base}/").text
        answer = httpx.post(f"{base}/api/translate", json={"text": "Hallo", "target": "en", "source": "de"})
        assert answer.json()["translation"] == "English translation of: Hallo"
    finally:
        output = interrupted(process, timeout=15)
    assert process.returncode == 0, output
