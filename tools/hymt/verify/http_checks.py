"""Checks of a deployment's public HTTP side: the page, health, languages, real translations, streaming, the error
contract, and that nothing internal (vLLM's API, metrics) is reachable from outside.

Each check takes a `Probe` (the base URL, a requests session, the timeout and the deployment's profile) and returns
a detail string when it passes, raises CheckFailed or CheckSkipped otherwise, or returns several results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from hymt.core import sse
from hymt.core.languages import LANGUAGES, get_language
from hymt.core.scripts import script_counts, script_share
from hymt.verify.result import CheckFailed, CheckResult, CheckSkipped, Status

# Sample sentences per source language; the answer is judged by the script of its target.
SAMPLES = {
    "zh": "今天天气很好，我们一起去公园散步吧。",
    "en": "The weather is lovely today, so let's take a walk in the park together.",
}
# zh->en and en->zh, and a pair without Chinese: Japanese is a target the model has been seen to answer wrongly.
PAIRS = (("zh", "en"), ("en", "zh"), ("en", "ja"))
# Share of an answer's letters that must be in the target's script (a source term in parentheses is tolerated).
MIN_SCRIPT_SHARE = 0.7
# Paths of vLLM and of the gateway's internals that the public URL must not serve.
INTERNAL_PATHS = ("/metrics", "/v1/models", "/tokenize", "/invocations", "/version", "/health", "/docs")


@dataclass
class Probe:
    base_url: str
    session: requests.Session
    timeout: float = 60.0
    profile: str = "gpu"  # from /api/info; "rehearsal" answers are gibberish, so language checks are skipped
    info: dict = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.session.get(self.url(path), timeout=self.timeout, **kwargs)

    def post(self, path: str, payload: object, **kwargs: object) -> requests.Response:
        return self.session.post(self.url(path), json=payload, timeout=self.timeout, **kwargs)


def _expect_status(response: requests.Response, expected: int = 200) -> None:
    if response.status_code != expected:
        raise CheckFailed(
            f"{response.request.method} {response.url} answered {response.status_code}: {_brief(response)}"
        )


def _brief(response: requests.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    except (ValueError, AttributeError):
        pass
    return response.text.strip().replace("\n", " ")[:160] or "(empty body)"


def check_page(probe: Probe) -> str:
    response = probe.get("/")
    _expect_status(response)
    if "text/html" not in response.headers.get("Content-Type", "") or "<html" not in response.text.lower():
        raise CheckFailed(f"/ is not an HTML page (Content-Type {response.headers.get('Content-Type')!r})")
    return f"{len(response.content)} bytes of HTML"


def check_healthz(probe: Probe) -> str:
    _expect_status(probe.get("/healthz"))
    return "the web app is up"


def check_readyz(probe: Probe) -> str:
    response = probe.get("/readyz")
    if response.status_code != 200:
        raise CheckFailed(f"not ready ({response.status_code}): {_brief(response)}")
    return "the model is loaded and listed"


def check_languages(probe: Probe) -> str:
    response = probe.get("/api/languages")
    _expect_status(response)
    body = response.json()
    items = body.get("languages") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise CheckFailed("/api/languages is not a list of languages")
    served = {item.get("code") for item in items if isinstance(item, dict)}
    expected = {lang.code for lang in LANGUAGES}
    if served != expected:
        missing, extra = sorted(expected - served), sorted(served - expected)
        raise CheckFailed(f"languages differ: missing {missing}, unexpected {extra}")
    return f"{len(served)} languages"


def language_verdict(answer: str, target: str) -> str:
    """Why `answer` is not written in `target`'s script (empty when it is)."""
    script = get_language(target).script
    share = script_share(answer, script)
    if share < MIN_SCRIPT_SHARE:
        return f"only {share:.0%} of the letters are {script} (expected at least {MIN_SCRIPT_SHARE:.0%})"
    if script == "han" and script_counts(answer)["kana"]:
        return "the answer contains Japanese kana"
    return ""


def check_translation(probe: Probe, source: str, target: str) -> list[CheckResult]:
    """Translate a sample through /api/translate, then judge the answer's language (skipped in rehearsal)."""
    name = f"translate {source}->{target}"
    lang_name = f"language of {source}->{target}"
    started = time.monotonic()
    text = SAMPLES[source]
    try:
        response = probe.post("/api/translate", {"text": text, "source": source, "target": target})
        _expect_status(response)
        body = response.json()
        answer = str(body.get("translation") or "")
        if not answer.strip():
            raise CheckFailed("the answer is empty")
        if body.get("target") != target:
            raise CheckFailed(f"the answer is for target {body.get('target')!r}, not {target!r}")
    except (CheckFailed, requests.RequestException, ValueError) as exc:
        elapsed = time.monotonic() - started
        detail = str(exc) if isinstance(exc, CheckFailed) else f"request failed: {exc}"
        return [
            CheckResult(name, Status.FAIL, detail, elapsed),
            CheckResult(lang_name, Status.SKIP, "no answer to judge", 0.0),
        ]
    elapsed = time.monotonic() - started
    shown = answer if len(answer) <= 60 else answer[:57] + "..."
    results = [CheckResult(name, Status.PASS, f"{shown!r} in {body.get('elapsed_ms', '?')} ms", elapsed)]
    if probe.profile == "rehearsal":
        results.append(CheckResult(lang_name, Status.SKIP, "rehearsal model: answers are not language", 0.0))
    elif answer.strip() == text.strip():
        results.append(CheckResult(lang_name, Status.FAIL, "the answer repeats the source text", 0.0))
    elif verdict := language_verdict(answer, target):
        results.append(CheckResult(lang_name, Status.FAIL, f"not {get_language(target).name_en}: {verdict}", 0.0))
    else:
        results.append(CheckResult(lang_name, Status.PASS, f"written in {get_language(target).script}", 0.0))
    return results


def check_stream(probe: Probe) -> str:
    started = time.monotonic()
    payload = {"text": SAMPLES["en"], "source": "en", "target": "zh"}
    with probe.session.post(probe.url("/api/translate/stream"), json=payload, stream=True, timeout=probe.timeout) as r:
        _expect_status(r)
        if "text/event-stream" not in r.headers.get("Content-Type", ""):
            raise CheckFailed(f"Content-Type is {r.headers.get('Content-Type')!r}, not text/event-stream")
        for event in sse.iter_named_events(sse.iter_lines(r.iter_content(chunk_size=None))):
            if event is None:
                continue
            if event.name == "delta":
                if json.loads(event.data).get("text"):
                    return f"first chunk after {(time.monotonic() - started) * 1000:.0f} ms"
            elif event.name == "error":
                raise CheckFailed(f"the stream reported an error: {event.data.strip()}")
            elif event.name == "done":
                raise CheckFailed("the stream ended without a delta")
    raise CheckFailed("the stream closed without any event")


def check_error_contract(probe: Probe) -> str:
    response = probe.post("/api/translate", {"text": "", "target": "en"})
    if response.status_code != 422:
        raise CheckFailed(f"an empty text got {response.status_code}, expected 422")
    try:
        error = response.json()["error"]
        assert error["code"] and error["message"]
    except (ValueError, KeyError, TypeError, AssertionError):
        raise CheckFailed(f"the 422 body is not {{'error': {{'code', 'message'}}}}: {response.text[:160]}") from None
    return f"empty text -> 422 {error['code']}"


def check_internals_hidden(probe: Probe) -> str:
    exposed = []
    for path in INTERNAL_PATHS:
        status = probe.get(path, allow_redirects=False).status_code
        if 200 <= status < 300:
            exposed.append(f"{path} ({status})")
    if exposed:
        raise CheckFailed("reachable from outside: " + ", ".join(exposed) + "; only the proxy's allowlist may be")
    return f"{len(INTERNAL_PATHS)} internal paths refused"


CheckFunction = Callable[[Probe], "str | list[CheckResult]"]


def http_checks() -> list[tuple[str, CheckFunction]]:
    checks: list[tuple[str, CheckFunction]] = [
        ("page loads", check_page),
        ("/healthz", check_healthz),
        ("/readyz", check_readyz),
        ("38 languages", check_languages),
    ]
    for source, target in PAIRS:
        checks.append((f"translate {source}->{target}", lambda p, s=source, t=target: check_translation(p, s, t)))
    checks += [
        ("streaming", check_stream),
        ("error contract", check_error_contract),
        ("internals not exposed", check_internals_hidden),
    ]
    return checks


__all__ = ["CheckSkipped", "Probe", "http_checks", "language_verdict"]
