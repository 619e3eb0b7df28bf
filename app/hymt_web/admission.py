"""Who may start a translation now: a rate and a concurrency limit per client, then the global in-flight cap.

A client is the address the connection comes from, after uvicorn's ProxyHeadersMiddleware has put the address the
proxy reports in its place (only for connections from HYMT_FORWARDED_ALLOW_IPS; a forged X-Forwarded-For from anyone
else changes nothing). IPv6 clients are counted per /64, the block one subscriber usually holds. Where access keys are
required, a client is a key's label instead (hymt_web/access.py's Gate).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Scope

from hymt_web.errors import GatewayError
from hymt_web.metrics import Metrics
from hymt_web.settings import Settings

# Seconds a client is asked to wait when a cap on translations at once is reached.
RETRY_AFTER_SECONDS = 2
# The table of clients is swept of idle ones (full allowance, nothing under way) when it grows past this.
SWEEP_AT = 1024


def client_of(scope: Scope) -> str:
    """The key a request is counted under: its client's IPv4 address, or the /64 of its IPv6 address."""
    client = scope.get("client")
    host = client[0] if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class _Client:
    allowance: float  # requests the client may still start now (refilled at its rate, up to its burst)
    stamp: float  # when the allowance was last brought up to date
    per_second: float  # its rate
    burst: int
    active: int = 0  # its translations under way


class Admission:
    """The gateway's three limits, counted in this process. No await happens between a check and its count: requests
    cannot interleave. With several workers, hymt_web/shared.py's SharedAdmission keeps the counts in a store instead
    and words its refusals here."""

    def __init__(self, settings: Settings, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = settings.max_in_flight
        self.client_limit = settings.client_max_in_flight
        self.per_second = settings.client_rate / 60
        self.burst = settings.client_burst
        # Keys with limits of their own (the keys file's rate= and burst=), by client name.
        self.own = settings.access_keys.own_limits if settings.access_keys is not None else {}
        self.metrics = metrics
        self.clock = clock
        self.count = 0
        self.clients: dict[str, _Client] = {}
        self._sweep_at = SWEEP_AT

    def _client(self, key: str) -> _Client:
        now = self.clock()
        client = self.clients.get(key)
        if client is None:
            if len(self.clients) >= self._sweep_at:
                self._sweep(now)
            per_second, burst = self.limits_of(key)
            client = self.clients[key] = _Client(allowance=burst, stamp=now, per_second=per_second, burst=burst)
        else:
            client.allowance = min(client.burst, client.allowance + (now - client.stamp) * client.per_second)
            client.stamp = now
        return client

    def _sweep(self, now: float) -> None:
        for key, client in list(self.clients.items()):
            refilled = client.allowance + (now - client.stamp) * client.per_second
            if client.active == 0 and refilled >= client.burst:
                del self.clients[key]
        self._sweep_at = max(SWEEP_AT, 2 * len(self.clients))

    def _refused(self, reason: str, message: str, retry_after: int) -> GatewayError:
        """A 429 for one of the limits, counted in the metrics under `reason`."""
        self.metrics.refused.labels(reason).inc()
        return GatewayError(429, "too_many_requests", message, headers={"Retry-After": str(retry_after)})

    def _rate_refused(self, allowance: float, per_second: float, burst: int) -> GatewayError:
        """The 429 of a client whose allowance is below one request."""
        wait = math.ceil((1 - allowance) / per_second)
        return self._refused(
            "client_rate",
            f"You sent more than {burst} translations in a short time (the limit is "
            f"{per_second * 60:g} a minute per client). Try again in {wait} seconds.",
            wait,
        )

    def _check_places(self, client_active: int, count: int) -> None:
        """429 when a client with `client_active` translations under way, of `count` in all, may not start one."""
        later = RETRY_AFTER_SECONDS
        if client_active >= self.client_limit:
            message = f"You have {self.client_limit} translations under way, the limit per client. Wait for one to "
            raise self._refused("client_in_flight", message + f"finish, or try again in {later} seconds.", later)
        if count >= self.limit:
            message = f"The service is translating {self.limit} texts at once, its limit. "
            raise self._refused("in_flight", message + f"Try again in {later} seconds.", later)

    def limits_of(self, key: str) -> tuple[float, int]:
        """The rate (requests a second) and burst `key` is allowed: its own (the keys file's), else the settings'."""
        rate, burst = self.own.get(key, (None, None))
        return (self.per_second if rate is None else rate / 60), (self.burst if burst is None else burst)

    def check_rate(self, key: str) -> None:
        """Count one translation request of `key` against its rate; 429 with Retry-After when it has none left."""
        client = self._client(key)
        if client.allowance < 1:
            raise self._rate_refused(client.allowance, client.per_second, client.burst)
        client.allowance -= 1

    def enter(self, key: str) -> None:
        """Take a place for a translation of `key`: 429 when the client, or the whole service, is at its cap."""
        client = self._client(key)
        self._check_places(client.active, self.count)
        client.active += 1
        self.count += 1
        self.metrics.in_flight.set(self.count)

    def leave(self, key: str) -> None:
        client = self.clients.get(key)
        if client is not None:
            client.active -= 1
        self.count -= 1
        self.metrics.in_flight.set(self.count)
