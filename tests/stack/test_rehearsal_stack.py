"""The rehearsal stack, running: verified, seen in a browser through the proxy, closed to the outside, and
recovering when vLLM dies. The tests run in file order; the one that kills vLLM comes last."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, expect

from hymt.verify.language import PAIRS
from tests.browser.support import TranslatorPage, chromium, screenshot
from tests.support.net import wait_until
from tests.support.repo import ROOT

HYMT = ROOT / ".venv/bin/hymt"

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def translator(browser, stack) -> Iterator[TranslatorPage]:
    context = browser.new_context(locale="en-US")
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield TranslatorPage(page, stack.url)
    context.close()
    assert not errors, f"the page threw: {errors}"


def verify(url: str) -> tuple[int, dict]:
    run = subprocess.run(
        [str(HYMT), "verify", "--url", url, "--profile", "rehearsal", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.returncode, json.loads(run.stdout) if run.stdout.strip() else {"stderr": run.stderr}


def test_rehearse_up_starts_verifies_and_prints_the_url(stack):
    assert stack.url.startswith("http://127.0.0.1:")
    assert "0 failed" in stack.up_output
    assert "ready: open " + stack.url in stack.up_output


def test_verify_passes_and_skips_the_language_checks_of_the_rehearsal_model(stack):
    code, report = verify(stack.url)
    assert code == 0, report
    assert report["info"]["profile"] == "rehearsal"
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    languages = {name: status for name, status in statuses.items() if name.startswith("language of")}
    assert set(languages) == {f"language of {source}->{target}" for source, target in PAIRS}
    assert set(languages.values()) == {"skip"}, "gibberish must never pass a language check"
    assert all(check["expected"] for check in report["checks"] if check["status"] == "skip")
    others = {name: status for name, status in statuses.items() if name not in languages}
    assert set(others.values()) == {"pass"}, others
    assert {
        "page loads",
        "/readyz",
        "declared profile",
        "38 languages",
        "streaming",
        "error contract",
        "vLLM's routes not exposed",
    } <= set(others)


def test_the_host_half_s_stack_checks_pass_on_the_running_stack_without_showing_the_key(stack):
    from hymt.verify import gpu
    from hymt.verify import stack as stack_checks
    from hymt.verify.commands import LocalRunner
    from hymt.verify.host import HostContext, HostSettings
    from hymt.verify.pins import ImagePins
    from hymt.verify.result import CheckSkipped, SkipKind

    settings = HostSettings(profile="rehearsal", pins=ImagePins(""), compose_project=stack.env["COMPOSE_PROJECT_NAME"])
    context = HostContext("this machine", LocalRunner(), settings)
    api_key = stack.api_key
    assert stack_checks.check_services(context) == "vllm healthy, web healthy, proxy healthy"
    assert stack_checks.check_restarts(context) == "restarts: " + ", ".join(
        f"{c.service} 0" for c in context.containers
    )
    inside = stack_checks.check_vllm_inside(context)
    assert inside == "/health 200; /v1/models lists hymt-rehearsal (API key set)" and api_key not in inside
    # The GPU test in the running CPU vLLM container: it runs, sees no GPU, and says so.
    with pytest.raises(CheckSkipped) as no_gpu:
        gpu.look_inside_vllm(context)
    assert no_gpu.value.kind is SkipKind.NO_GPU and "sees no CUDA device" in str(no_gpu.value)


def test_only_the_proxy_publishes_a_port_and_only_on_loopback(stack):
    published = {
        c["Service"]: [p for p in c.get("Publishers") or [] if p.get("PublishedPort")] for c in stack.containers()
    }
    assert set(published) == {"vllm", "web", "proxy"}
    assert published["vllm"] == [] and published["web"] == []
    assert {p["URL"] for p in published["proxy"]} == {"127.0.0.1"}


def test_vllm_sits_on_an_internal_network_only(stack):
    vllm = next(c for c in stack.containers() if c["Service"] == "vllm")
    inspect = json.loads(subprocess.run(["docker", "inspect", vllm["ID"]], capture_output=True, text=True).stdout)[0]
    networks = list(inspect["NetworkSettings"]["Networks"])
    assert len(networks) == 1 and networks[0].endswith("_backend"), networks
    net = json.loads(
        subprocess.run(["docker", "network", "inspect", networks[0]], capture_output=True, text=True).stdout
    )
    assert net[0]["Internal"] is True


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions", "/metrics", "/tokenize", "/docs", "/version"])
def test_the_proxy_forwards_nothing_of_vllm_nor_metrics(stack, path):
    api_key = stack.api_key
    response = requests.get(stack.url + path, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    assert response.status_code == 404


def test_the_page_translates_through_the_proxy_in_a_browser(translator):
    translator.open()
    translator.choose("target", "French", "fr")
    translator.translate("Hello, world.\n\nSecond paragraph.")
    expect(translator.error).to_be_hidden()
    output = translator.output.inner_text()
    assert output.strip(), "the rehearsal model answered nothing"
    assert "\n\n" in output, "the paragraph break was lost"
    screenshot(translator.page, "stack-translation")


def test_when_vllm_dies_the_page_says_so_and_everything_recovers(stack, translator):
    ready = lambda: requests.get(stack.url + "/readyz", timeout=10).status_code == 200  # noqa: E731
    assert ready()
    stack.compose("kill", "vllm")
    try:
        wait_until(lambda: not ready(), "/readyz turning 503", timeout=30)
        body = requests.get(stack.url + "/readyz", timeout=10).json()
        assert body["error"]["message"], body
        translator.open()
        expect(translator.banner).to_be_visible()
        screenshot(translator.page, "stack-vllm-down")
    finally:
        stack.compose("start", "vllm")
    wait_until(ready, "/readyz turning 200 after vLLM restarted", timeout=300, interval=2)
    expect(translator.banner).to_be_hidden(timeout=30_000)
    code, report = verify(stack.url)
    assert code == 0, report
