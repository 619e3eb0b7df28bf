"""Checks of a deployment's public HTTP side: the page, health, the declared profile, languages, real translations,
streaming and the error contract (what must stay hidden is exposure.py's).

Each check takes a `Probe` (the base URL, a requests session, the timeout and the profile the caller declared) and
returns a reason string when it passes, raises CheckFailed or CheckSkipped otherwise, or returns several results.
The profile is the caller's, never the server's: a server that says it is something else fails a check of its own.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from hymt.core.languages import LANGUAGES, get_language
from hymt.core.sse import iter_lines, iter_named_events
from hymt.verify.language import PAIRS, SAMPLES, copy_verdict, language_verdict
from hymt.verify.result import CheckFailed, CheckResult, SkipKind, failed, passed, skipped
from hymt.verify.settings import ENV_VERIFY_PASSWORD, Login

# The checks run concurrently, but to the deployment they are one client: at most this many translations at once (the
# gateway's default per-client cap, HYMT_CLIENT_MAX_IN_FLIGHT), and a 429 is retried after its Retry-After.
TRANSLATIONS_AT_ONCE = 4


@dataclass
class Probe:
    base_url: str
    session: requests.Session
    timeout: float = 60.0
    profile: str = "gpu"  # declared by the caller (--profile or the inventory), never read from the server
    access_key: str | None = None  # a private deployment's key, sent with every translation
    # The site's basic auth login; the session sends it with every request (see connect in hymt.verify.run).
    login: Login | None = field(default=None, repr=False)
    info: dict = field(default_factory=dict)  # what /api/info said, for the report
    translating: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(TRANSLATIONS_AT_ONCE)
    )

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.session.get(self.url(path), timeout=self.timeout, **kwargs)

    def post(self, path: str, payload: object, **kwargs: object) -> requests.Response:
        """A translation request as a polite client sends it: within TRANSLATIONS_AT_ONCE (see send)."""
        with self.translating:
            return self.send(path, payload, **kwargs)

    def send(self, path: str, payload: object, **kwargs: object) -> requests.Response:
        """POST `payload`; a 429 is sent again after its Retry-After while the timeout allows (the deployment may be
        busy with other people's texts). The caller holds a place of `translating`."""
        deadline = time.monotonic() + self.timeout
        if self.access_key:
            # With a login, Authorization carries it: the key goes as X-API-Key, which the gateway takes first.
            key = {"X-API-Key": self.access_key} if self.login else {"Authorization": f"Bearer {self.access_key}"}
            kwargs["headers"] = {**key, **kwargs.get("headers", {})}  # type: ignore[dict-item]
        while True:
            response = self.session.post(self.url(path), json=payload, timeout=self.timeout, **kwargs)
            wait = response.headers.get("Retry-After", "")
            if response.status_code != 429 or not wait.isdigit() or time.monotonic() + int(wait) > deadline:
                return response
            response.close()
            time.sleep(int(wait))


def expect_status(response: requests.Response, expected: int = 200) -> None:
    if response.status_code != expected:
        raise CheckFailed(
            f"{response.request.method} {response.url} answered {response.status_code}: {brief(response)}"
        )


def brief(response: requests.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    except (ValueError, AttributeError):
        pass
    return response.text.strip().replace("\n", " ")[:160] or "(empty body)"


def check_page(probe: Probe) -> str:
    response = probe.get("/")
    expect_status(response)
    if "text/html" not in response.headers.get("Content-Type", "") or "<html" not in response.text.lower():
        raise CheckFailed(f"/ is not an HTML page (Content-Type {response.headers.get('Content-Type')!r})")
    return f"{len(response.content)} bytes of HTML"


def check_healthz(probe: Probe) -> str:
    expect_status(probe.get("/healthz"))
    return "the web app is up"


def check_readyz(probe: Probe) -> str:
    response = probe.get("/readyz")
    if response.status_code != 200:
        raise CheckFailed(f"not ready ({response.status_code}): {brief(response)}")
    return "the model is loaded, listed and generating"


def check_profile(probe: Probe) -> str:
    """The server's own word on what it is must match what the caller declared."""
    response = probe.get("/api/info")
    expect_status(response)
    try:
        info = response.json()
    except ValueError:
        raise CheckFailed("/api/info is not JSON") from None
    if not isinstance(info, dict):
        raise CheckFailed("/api/info is not a JSON object")
    probe.info = info
    said = info.get("profile")
    if said != probe.profile:
        raise CheckFailed(
            f"the server says its profile is {said!r}, but this deployment was declared {probe.profile!r} "
            "(--profile or the inventory's hymt_profile). A rehearsal serves a tiny model with gibberish answers: "
            "deploy the gpu profile (HYMT_PROFILE=gpu and the real model), or verify with the profile it really has."
        )
    return f"profile {said}, model {info.get('model', '?')}"


def check_languages(probe: Probe) -> str:
    response = probe.get("/api/languages")
    expect_status(response)
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


def check_translation(probe: Probe, source: str, target: str) -> list[CheckResult]:
    """Translate a sample through /api/translate: an answer for the right target that is not a copy of the source;
    then its language (judged on the gpu profile; the rehearsal model's answers are not language)."""
    name, lang_name = f"translate {source}->{target}", f"language of {source}->{target}"
    started = time.monotonic()
    text = SAMPLES[source]
    try:
        response = probe.post("/api/translate", {"text": text, "source": source, "target": target})
        expect_status(response)
        body = response.json()
        answer = str(body.get("translation") or "")
        if not answer.strip():
            raise CheckFailed("the answer is empty")
        if body.get("target") != target:
            raise CheckFailed(f"the answer is for target {body.get('target')!r}, not {target!r}")
        if copied := copy_verdict(text, answer):
            raise CheckFailed(f"{copied}: {_shown(answer)} is not a translation")
    except (CheckFailed, requests.RequestException, ValueError, AttributeError) as exc:
        reason = str(exc) if isinstance(exc, CheckFailed) else f"request failed: {exc}"
        return [
            failed(name, reason, time.monotonic() - started),
            skipped(lang_name, "no translation to judge (see the check above)"),
        ]
    results = [passed(name, f"{_shown(answer)} in {body.get('elapsed_ms', '?')} ms", time.monotonic() - started)]
    language = get_language(target)
    if probe.profile == "rehearsal":
        results.append(skipped(lang_name, "rehearsal model: its answers are not language", SkipKind.REHEARSAL_MODEL))
    elif verdict := language_verdict(answer, target):
        results.append(failed(lang_name, f"not {language.name_en}: {verdict}"))
    else:
        results.append(passed(lang_name, f"{language.name_en}, written in {language.script}"))
    return results


def _shown(answer: str) -> str:
    return repr(answer if len(answer) <= 60 else answer[:57] + "...")


def check_stream(probe: Probe) -> str:
    started = time.monotonic()
    payload = {"text": SAMPLES["en"], "source": "en", "target": "zh"}
    with probe.translating, probe.send("/api/translate/stream", payload, stream=True) as r:
        expect_status(r)
        if "text/event-stream" not in r.headers.get("Content-Type", ""):
            raise CheckFailed(f"Content-Type is {r.headers.get('Content-Type')!r}, not text/event-stream")
        for event in iter_named_events(iter_lines(r.iter_content(chunk_size=None))):
            if event is None:
                continue
            if event.name == "delta" and json.loads(event.data).get("text"):
                return f"first piece after {(time.monotonic() - started) * 1000:.0f} ms"
            if event.name == "error":
                raise CheckFailed(f"the stream reported an error: {event.data.strip()}")
            if event.name == "done":
                raise CheckFailed("the stream ended without a delta")
    raise CheckFailed("the stream closed without any event")


def check_error_contract(probe: Probe) -> str:
    response = probe.post("/api/translate", {"text": "", "target": "en"})
    if response.status_code != 422:
        raise CheckFailed(f"an empty text got {response.status_code}, expected 422")
    try:
        error = response.json()["error"]
        if not (error["code"] and error["message"]):
            raise KeyError("code")
    except (ValueError, KeyError, TypeError):
        raise CheckFailed(f"the 422 body is not {{'error': {{'code', 'message'}}}}: {response.text[:160]}") from None
    return f"empty text -> 422 {error['code']}"


def check_access(probe: Probe) -> str:
    """A private deployment (its /api/info says a key is required) refuses a translation without a key, with 401 and
    WWW-Authenticate, and accepts the key given; a key given for a deployment that needs none fails: it is open."""
    response = probe.get("/api/info")
    expect_status(response)
    required = response.json().get("access_key_required") is True
    if not required:
        if probe.access_key:
            raise CheckFailed(
                "an access key was given, but the deployment translates for anyone: its access control is off "
                "(set hymt_access_keys in the inventory, or HYMT_ACCESS_KEYS_FILE, and deploy again)"
            )
        return "off: the deployment is open to everyone (no access key required)"
    payload = {"text": SAMPLES["en"], "source": "en", "target": "zh"}
    with probe.translating:
        bare = probe.session.post(probe.url("/api/translate"), json=payload, timeout=probe.timeout)
    if bare.status_code != 401 or not bare.headers.get("WWW-Authenticate"):
        raise CheckFailed(f"a translation without a key got {bare.status_code}, not 401 with WWW-Authenticate")
    if not probe.access_key:
        raise CheckFailed(
            "the deployment needs an access key: give it with --access-key or HYMT_ACCESS_KEY to verify its "
            "translations"
        )
    keyed = probe.post("/api/translate", payload)
    if keyed.status_code == 401:
        raise CheckFailed(f"the access key given was not accepted (401: {brief(keyed)})")
    return f"a translation without a key gets 401; the key given is accepted ({keyed.status_code})"


class SiteShut(CheckFailed):
    """The site's basic auth lets verify in nowhere (no login given, or the login refused): the other checks of the
    site would only meet the proxy's 401, so they are not run."""


def _asks_for_basic(response: requests.Response) -> bool:
    return response.status_code == 401 and response.headers.get("WWW-Authenticate", "").lower().startswith("basic")


def _page(probe: Probe, auth: tuple[bytes, bytes] | None) -> requests.Response:
    """GET / with exactly this login (None: none), whatever the session sends by itself."""
    prepared = requests.Request("GET", probe.url("/"), auth=auth).prepare()
    return probe.session.send(prepared, timeout=probe.timeout)


def check_login(probe: Probe) -> str:
    """Basic auth at the proxy (hymt_basic_auth_users): given a login, the page without one gets 401 `Basic`, a wrong
    password 401, and the login is let in. Without a login, a site that asks for one stops the site's checks with
    what to give."""
    bare = _page(probe, None)
    login = probe.login
    if login is None:
        if _asks_for_basic(bare):
            raise SiteShut(
                f"the site asks for a login: give --login USER with {ENV_VERIFY_PASSWORD} (the deploy's verify step: "
                "hymt_verify_login in the inventory). / answered 401 with WWW-Authenticate: Basic; the site's other "
                "checks were not run"
            )
        return f"off: / answers {bare.status_code} without a login (no basic auth at the proxy)"
    if bare.status_code != 401:
        raise CheckFailed(
            f"/ answered {bare.status_code} without a login: the site is open to anyone, although a login was given. "
            "The proxy's accounts are not in place: set hymt_basic_auth_users in the inventory (a user and the "
            "bcrypt hash of its password) and deploy again; verify without --login if the site is meant to be open"
        )
    if not _asks_for_basic(bare):
        asked = bare.headers.get("WWW-Authenticate") or "no WWW-Authenticate"
        raise CheckFailed(
            f"/ answered 401 without a login but asks for {asked!r}, not basic auth: --login is the login of the "
            "proxy's basic auth (hymt_basic_auth_users)"
        )
    user, password = login.user.encode(), login.password.encode()
    logged_in = _page(probe, (user, password))
    if logged_in.status_code == 401:
        raise SiteShut(
            f"the login for user {login.user!r} was refused (401): check the user and {ENV_VERIFY_PASSWORD} against "
            "hymt_basic_auth_users (its password_hash must be caddy hash-password of that password) and deploy again "
            "after a change; the site's other checks were not run"
        )
    wrong = _page(probe, (user, password + secrets.token_hex(8).encode()))
    if wrong.status_code != 401:
        raise CheckFailed(
            f"a wrong password for {login.user!r} got {wrong.status_code}, not 401: the proxy lets that user in "
            "with any password. Check the accounts file the deploy wrote (basic_auth.caddy) and hymt_basic_auth_users"
        )
    return (
        f"/ without a login and with a wrong password gets 401 Basic; the login for {login.user!r} is let in "
        f"({logged_in.status_code})"
    )


CheckFunction = Callable[[Probe], "str | list[CheckResult]"]


def http_checks() -> list[tuple[str, CheckFunction]]:
    checks: list[tuple[str, CheckFunction]] = [
        ("page loads", check_page),
        ("/healthz", check_healthz),
        ("/readyz", check_readyz),
        ("declared profile", check_profile),
        ("38 languages", check_languages),
    ]
    for source, target in PAIRS:
        checks.append((f"translate {source}->{target}", lambda p, s=source, t=target: check_translation(p, s, t)))
    checks += [("streaming", check_stream), ("error contract", check_error_contract), ("access control", check_access)]
    return checks
