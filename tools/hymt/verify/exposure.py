"""Nothing of vLLM (nor the gateway's metrics) may answer through the public URL.

vLLM's --api-key protects only /v1, /v2 and /inference: /invocations, /pause, /tokenize, /collective_rpc, /metrics ...
stay open, and a proxy that forwards them hands the engine to anyone. So any answer but 404 counts as exposed: a 401
or 403 means the route reached something that guards it (vLLM's key check), a 405 that something knows the route.
Each route is tried with GET and POST, and in encoded forms that slip past naive path allowlists.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import requests

from hymt.verify.http import Probe
from hymt.verify.result import CheckFailed

# vLLM's routes (and the gateway's /metrics), each of which must be a 404 from outside.
VLLM_ROUTES = (
    "/v1/models",
    "/v1/chat/completions",
    "/v1/completions",
    "/invocations",
    "/pause",
    "/tokenize",
    "/detokenize",
    "/collective_rpc",
    "/update_weights",
    "/metrics",
    "/health",
    "/version",
    "/docs",
    "/openapi.json",
)
# The same, encoded or doubled, as a path-matching proxy might still forward them. (None under /static: the web app's
# static files answer 405 to any POST there, which says nothing about vLLM.)
ENCODED_ROUTES = (
    "/api/..%2fmetrics",
    "/api/..%2f..%2fmetrics",
    "/api/%2e%2e/metrics",
    "//metrics",
    "//v1/models",
    "/%2fv1/models",
    "/v1%2fmodels",
)
METHODS = ("GET", "POST")
NO_CLEAN_ANSWER = "no clean answer"


def _probe_one(probe: Probe, method: str, path: str) -> tuple[str, str, str] | None:
    """(method, path, what answered) when the route answered other than 404, else None. A request that got no
    answer at all is tried once more: one timeout on a busy host says nothing about the route."""
    answer = _ask_once(probe, method, path)
    if answer is not None and answer[2].startswith(NO_CLEAN_ANSWER):
        answer = _ask_once(probe, method, path)
    return answer


def _ask_once(probe: Probe, method: str, path: str) -> tuple[str, str, str] | None:
    # A prepared request keeps the path as written (requests would merge the slashes or decode the escapes).
    request = requests.Request(method, probe.base_url.rstrip("/"), json={} if method == "POST" else None)
    prepared = probe.session.prepare_request(request)
    prepared.url = probe.base_url.rstrip("/") + path
    try:
        response = probe.session.send(prepared, timeout=probe.timeout, allow_redirects=False)
        status, where = response.status_code, ""
        # A redirect is judged by where it leads (e.g. HTTP -> HTTPS of the same path).
        if response.is_redirect and response.headers.get("Location"):
            followed = probe.session.request(
                method, response.headers["Location"], timeout=probe.timeout, allow_redirects=True
            )
            status, where = followed.status_code, f" after a redirect to {followed.url}"
    except requests.RequestException as exc:
        return method, path, f"{NO_CLEAN_ANSWER} ({type(exc).__name__})"
    return None if status == 404 else (method, path, f"{status}{where}")


def probe_routes(probe: Probe, routes: Iterable[str] = VLLM_ROUTES + ENCODED_ROUTES) -> list[tuple[str, str, str]]:
    """(method, path, what answered) for every route that did not answer 404, in the order probed."""
    requests_ = [(method, path) for path in routes for method in METHODS]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="verify-exposure") as pool:
        answers = pool.map(lambda item: _probe_one(probe, *item), requests_)
        return [answer for answer in answers if answer is not None]


def check_not_exposed(probe: Probe) -> str:
    exposed = probe_routes(probe)
    if exposed:
        shown = ", ".join(f"{method} {path} -> {what}" for method, path, what in exposed[:12])
        more = f" and {len(exposed) - 12} more" if len(exposed) > 12 else ""
        raise CheckFailed(
            f"answered other than 404 through the public URL: {shown}{more}. Only 404 proves nothing is behind a "
            "route; 401/403/405 mean the request reached vLLM or the gateway's internals. Forward only the page, "
            "/static, /api, /healthz and /readyz at the proxy (compose/Caddyfile) and never publish vLLM's port."
        )
    count = (len(VLLM_ROUTES) + len(ENCODED_ROUTES)) * len(METHODS)
    return f"{count} requests to vLLM's routes (GET and POST, encoded variants) all answered 404"
