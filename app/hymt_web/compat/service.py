"""What the compatible APIs share: the key a request carries checked by the access gate, its fields read whatever
the encoding, and its texts translated the way /api/translate translates (the same per-client rate and in-flight
limits, the translation core's checks and plan, the same upstream client), with each key's usage counted."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from hymt.core.features import NO_FEATURES, Features
from hymt_web.access import AccessKey, Gate, client_name
from hymt_web.admission import Admission, client_of
from hymt_web.errors import GatewayError
from hymt_web.metrics import Metrics
from hymt_web.settings import Settings
from hymt_web.translate import Job, prepare, run_bounded, translate

# Texts one request may carry (DeepL's own limit); together they may have as many characters as one /api text.
MAX_TEXTS = 50
# What /v2/usage reports as the limit when HYMT_COMPAT_CHARACTER_LIMIT is 0 (clients need a number).
NO_LIMIT = 10**12


class Fields(dict[str, list[str]]):
    """A request's fields, each as a list of strings; `lists` names those a JSON body gave as a list."""

    lists: set[str]

    def __init__(self) -> None:
        super().__init__()
        self.lists = set()


def key_label(entry: AccessKey) -> str:
    """How metrics name a key: the first 8 hex digits of its SHA-256 digest (the keys file has them, not the key)."""
    return entry.digest.hex()[:8]


def refusal(status: int, code: str, message: str) -> GatewayError:
    return GatewayError(status, code, message)


def answer_errors(shape: Callable[[GatewayError], Response]) -> Callable[[Callable[..., Awaitable[Response]]], Any]:
    """A route decorator: a GatewayError raised by the route is answered in the API's own error shape (`shape`)."""

    def decorate(route: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                return await route(request)
            except GatewayError as error:
                return shape(error)

        guarded.__name__ = route.__name__
        return guarded

    return decorate


def error_json(body: dict[str, object], error: GatewayError, statuses: dict[int, int]) -> JSONResponse:
    """`body` with the status `statuses` maps the gateway's to (the same otherwise), and the error's headers."""
    return JSONResponse(body, status_code=statuses.get(error.status, error.status), headers=error.headers)


async def read_fields(request: Request) -> Fields:
    """The request's fields from its query and its body (JSON, or form-encoded as curl -d sends it), each as a list
    of strings: a field given twice (text=a&text=b) or as a JSON list has several."""
    found = Fields()
    found.update(parse_qs(request.url.query))
    body = await request.body()
    if not body.strip():
        return found
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise refusal(400, "invalid_request", "The body is not UTF-8 text.") from None
    if kind == "application/json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise refusal(400, "invalid_request", "The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise refusal(400, "invalid_request", "The body must be a JSON object.")
        for name, value in data.items():
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list):
                found.lists.add(name)
            if not all(isinstance(v, str | int | float | bool) for v in values):
                raise refusal(400, "invalid_request", f"The field '{name}' must be a string or a list of strings.")
            found[name] = [v if isinstance(v, str) else json.dumps(v) for v in values]
        return found
    if kind in ("application/x-www-form-urlencoded", ""):
        for name, values in parse_qs(text, keep_blank_values=True).items():
            found.setdefault(name, []).extend(values)
        return found
    raise refusal(400, "invalid_request", "Send the fields as JSON or form-encoded (curl -d).")


def one(fields: Fields, name: str, default: str | None = None) -> str | None:
    """The single value of field `name` (default when absent or empty); 400 when it is given more than once."""
    values = fields.get(name, [])
    if len(values) > 1:
        raise refusal(400, "invalid_request", f"The field '{name}' is given {len(values)} times; give it once.")
    return (values[0].strip() or default) if values else default


@dataclass
class Usage:
    """Characters of source text each key had translated this calendar month (UTC), in the app's memory."""

    limit: int  # per key and month; 0 for none
    metrics: Metrics
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _counts: dict[bytes, tuple[str, int]] = field(default_factory=dict)

    def _month(self) -> str:
        return self.now().strftime("%Y-%m")

    def used(self, entry: AccessKey) -> int:
        month, count = self._counts.get(entry.digest, ("", 0))
        return count if month == self._month() else 0

    def check(self, entry: AccessKey, characters: int) -> None:
        """456 (DeepL's "quota exceeded") when `characters` more would take the key past its monthly limit."""
        used = self.used(entry)
        if self.limit and used + characters > self.limit:
            raise refusal(
                456,
                "quota_exceeded",
                f"This key has translated {used} of the {self.limit} characters it may translate this month; "
                f"{characters} more would exceed that. Ask the operator of this service for more.",
            )

    def add(self, api: str, entry: AccessKey, characters: int) -> None:
        self._counts[entry.digest] = (self._month(), self.used(entry) + characters)
        self.metrics.compat_requests.labels(api, key_label(entry)).inc()
        self.metrics.compat_characters.labels(api, key_label(entry)).inc(characters)


class Compat:
    """The gateway's own parts, as the compatible APIs use them."""

    def __init__(
        self,
        settings: Settings,
        gate: Gate,
        admission: Admission,
        metrics: Metrics,
        count: Callable[[str], int] | None,
        unless_client_leaves: Callable[[Request, Awaitable[Any]], Awaitable[Any]],
    ) -> None:
        self.settings = settings
        self.gate = gate
        self.admission = admission
        self.count = count
        self.unless_client_leaves = unless_client_leaves
        self.usage = Usage(settings.compat_character_limit, metrics)

    def authenticate(self, request: Request, key: str | None, how: str) -> AccessKey:
        """The entry of `key` in the keys file; a missing or wrong key is refused (and spends the address's rate
        allowance, as on /api) with `how` to send one."""
        try:
            return self.gate.entry(key, client_of(request.scope))
        except GatewayError as error:
            if error.status != 401:
                raise
            said = "No access key was sent" if key is None else "The access key was not accepted"
            raise refusal(401, error.code, f"{said}. {how} The operator of this service gives out the keys.") from None

    async def translate(
        self,
        request: Request,
        api: str,
        entry: AccessKey,
        texts: list[str],
        target: str,
        source: str,
        features: Features = NO_FEATURES,
    ) -> list[dict[str, object]]:
        """The translations of `texts` (core language codes) with `features`, as /api/translate answers each; a blank
        text is its own translation. One request counts once against the key's rate and takes one place, whatever its
        texts."""
        if not texts:
            raise refusal(400, "invalid_request", "There is no text to translate.")
        if len(texts) > MAX_TEXTS:
            raise refusal(413, "too_many_texts", f"{len(texts)} texts in one request; send at most {MAX_TEXTS}.")
        total = sum(len(text) for text in texts)
        if total > self.settings.max_chars:
            raise refusal(
                413,
                "text_too_long",
                f"The texts have {total} characters in all but one request may carry {self.settings.max_chars}. "
                "Send them in smaller batches.",
            )
        self.usage.check(entry, total)
        client = client_name(entry)
        self.admission.check_rate(client)
        jobs = [
            prepare(self.settings, t, target, source, count=self.count, features=features) if t.strip() else None
            for t in texts
        ]
        self.admission.enter(client)
        try:
            answers = await self.unless_client_leaves(request, self._all(request, jobs))
        finally:
            self.admission.leave(client)
        self.usage.add(api, entry, total)
        return [
            answer if answer is not None else {"translation": text, "source": source, "target": target}
            for text, answer in zip(texts, answers, strict=True)
        ]

    async def _all(self, request: Request, jobs: list[Job | None]) -> list[dict[str, object] | None]:
        """The jobs translated at once, at most HYMT_CHUNK_CONCURRENCY of them at a time, in order (a blank text's
        None stays None); the first failure cancels the others and is raised."""
        upstream = request.app.state.upstream
        works = [functools.partial(translate, upstream, job) for job in jobs if job is not None]
        answers = iter(await run_bounded(works, asyncio.Semaphore(self.settings.chunk_concurrency)))
        return [None if job is None else next(answers) for job in jobs]
