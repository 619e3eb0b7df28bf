"""Prometheus metrics of one app instance, in a registry of its own (two apps in one process never share counts).

With several workers (`hymt web --workers N`), prometheus_client's multiprocess mode keeps each worker's values in
files of a directory the server makes (PROMETHEUS_MULTIPROC_DIR) and /metrics reads them all (hymt_web/shared.py).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Translations take from a few hundred milliseconds to minutes (long texts on a busy GPU).
# The label values of hymt_web_refused_total (admission.py's limits) and hymt_web_upstream_errors_total (errors.py's
# upstream_* codes).
REFUSAL_REASONS = ("client_rate", "client_in_flight", "in_flight")
UPSTREAM_ERROR_CODES = ("upstream_unreachable", "upstream_not_ready", "upstream_timeout", "upstream_error")
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hymt_web_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hymt_web_request_duration_seconds",
            "Time from request to the end of the response (streams included), by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        # With several workers (hymt_web/shared.py) each sets its own share, and /metrics shows the sum over the
        # workers that run; one process ignores the mode.
        self.in_flight = Gauge(
            "hymt_web_translations_in_flight",
            "Translations being worked on now",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.refused = Counter(
            "hymt_web_refused",
            "Translation requests answered 429, by the limit reached: client_rate, client_in_flight or in_flight",
            ["reason"],
            registry=self.registry,
        )
        # The compatible APIs (hymt_web/compat), per key: `key` is the start of the key's SHA-256 digest (the keys
        # file's first 8 hex digits), never the key.
        self.compat_requests = Counter(
            "hymt_web_compat_translations",
            "Translation requests answered 200 by a compatible API, by API and key (its digest's first 8 hex digits)",
            ["api", "key"],
            registry=self.registry,
        )
        self.compat_characters = Counter(
            "hymt_web_compat_characters",
            "Source characters translated by a compatible API, by API and key (its digest's first 8 hex digits)",
            ["api", "key"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "hymt_web_upstream_errors",
            "Upstream (vLLM) requests that failed, by the error code the gateway answered with",
            ["code"],
            registry=self.registry,
        )
        # Every reason and code is exported from the start, at 0: a series that appears only at its first increment
        # is invisible to rate() and increase() (the monitoring profile's alerts) until its second.
        for reason in REFUSAL_REASONS:
            self.refused.labels(reason)
        for code in UPSTREAM_ERROR_CODES:
            self.upstream_errors.labels(code)


class MetricsMiddleware:
    """Counts every HTTP request by its route template (never the raw path, which would grow without bound)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(label, scope["method"], str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - started)
