"""The one connection pool to the OpenAI-compatible upstream (vLLM), with its failures turned into GatewayErrors.

aiohttp, not httpx: reading a stream token by token, httpx's layers cost about four times the CPU (docs/performance.md,
"What the gateway costs, and what was removed"), and the gateway reads every token of every translation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from hymt.core import sse
from hymt.core.prompts import build_prompt, chat_request
from hymt_web import errors
from hymt_web.errors import GatewayError
from hymt_web.metrics import Metrics
from hymt_web.settings import Settings

log = logging.getLogger("hymt_web.upstream")

# /health and /v1/models answer at once when the server is up; a readiness probe must not hang on a stalled one.
_PROBE_TIMEOUT = 5.0
# Every open page polls /readyz: probes within this many seconds share one answer, so the model server sees a
# handful of requests however many people have the page open.
_READINESS_TTL = 2.0
# vLLM's server closes a connection after 5 s without a request (uvicorn's keep-alive, which vLLM sets). A pooled
# connection kept exactly as long can be taken for a request at the moment vLLM closes it: the request then fails
# with "server disconnected" although vLLM is fine. Dropping idle connections well before vLLM does closes that race.
UPSTREAM_IDLE_SECONDS = 2.0
# How long a finished stream's end may take to come, to keep its connection (vLLM sends it at once).
_DRAIN_SECONDS = 0.05


def _nothing(_count: int) -> None:
    pass


def make_client(settings: Settings) -> aiohttp.ClientSession:
    """The session for the app's lifetime (create it in the running loop; use it with `async with`)."""
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    connector = aiohttp.TCPConnector(
        limit=settings.max_in_flight * settings.chunk_concurrency,
        keepalive_timeout=UPSTREAM_IDLE_SECONDS,
    )
    return aiohttp.ClientSession(
        base_url=settings.upstream_url.rstrip("/") + "/",
        connector=connector,
        headers=headers,
        # read: the longest silence before an answer or between two pieces; no bound on the whole exchange, which
        # the translation's own deadline (HYMT_REQUEST_TIMEOUT) sets.
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        ),
        # The upstream is on the stack's internal network: never send it through a proxy from the environment.
        trust_env=False,
        # SSE is never compressed by vLLM; asking for nothing else keeps the lines readable as they come.
        auto_decompress=False,
        skip_auto_headers=("Accept-Encoding",),
        json_serialize=_json_body,
        # A line of the stream may be long (an error event, a usage chunk): allow far more than one token needs.
        read_bufsize=2**20,
    )


def _json_body(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


class Upstream:
    def __init__(self, client: aiohttp.ClientSession, settings: Settings, metrics: Metrics) -> None:
        self.client = client
        self.settings = settings
        self.metrics = metrics
        self._readiness: tuple[float, GatewayError | None] | None = None
        self._readiness_lock = asyncio.Lock()
        # When the model last produced text (a translation's answer or piece, or the readiness probe's token), and
        # the readiness probe's last failed generation: (when, why).
        self._generated_at: float | None = None
        self._generation_failed: tuple[float, GatewayError] | None = None
        # Readiness probes under way, each told when the model produces text meanwhile (_generated).
        self._generation_waiters: set[asyncio.Future[None]] = set()

    def _generated(self) -> None:
        self._generated_at = time.monotonic()
        for waiting in self._generation_waiters:
            if not waiting.done():
                waiting.set_result(None)

    def _failed(self, error: GatewayError) -> GatewayError:
        self.metrics.upstream_errors.labels(error.code).inc()
        log.warning("upstream request failed: %s: %s", error.code, error.detail)
        return error

    def _transport_error(self, exc: aiohttp.ClientError | TimeoutError) -> GatewayError:
        where = self.settings.upstream_url
        if _unreachable(exc):
            return self._failed(errors.upstream_unreachable(f"no connection to {where}"))
        if isinstance(exc, TimeoutError):
            return self._failed(
                errors.upstream_timeout(f"nothing came back for {self.settings.read_timeout:g} seconds")
            )
        return self._failed(errors.upstream_error("the connection to the model server broke off"))

    async def _status_error(self, response: aiohttp.ClientResponse) -> GatewayError:
        detail = _upstream_message(await response.read())
        status = response.status
        if status in (401, 403):
            return self._failed(
                errors.upstream_error("the model server refused the gateway's API key; check HYMT_API_KEY")
            )
        if status == 404:
            return self._failed(
                errors.upstream_error(
                    f"the model server does not serve {self.settings.served_model!r}; check HYMT_SERVED_MODEL"
                )
            )
        if status == 503:
            return self._failed(errors.upstream_not_ready(f"the model server answered 503: {detail}"))
        return self._failed(errors.upstream_error(f"HTTP {status}: {detail}"))

    async def complete(self, body: dict[str, object], counted: Callable[[int], None] = _nothing) -> str:
        """The whole answer of one chat completion; `counted` hears its output tokens when the model server reports
        them (the OpenAI API's usage, which vLLM always sends)."""
        try:
            async with self.client.post("chat/completions", json={**body, "stream": False}) as response:
                if response.status != 200:
                    raise await self._status_error(response)
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._transport_error(exc) from exc
        try:
            parsed = json.loads(raw)
            answer = parsed["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise self._failed(errors.upstream_error("an answer the gateway could not read")) from exc
        self._generated()
        tokens = sse.completion_tokens(parsed)
        if tokens is not None:
            counted(tokens)
        return answer

    async def stream(self, body: dict[str, object], counted: Callable[[int], None] = _nothing) -> AsyncIterator[str]:
        """The answer of one chat completion as the model writes it: the text of every piece that arrived together
        (in one read from the connection) as one, so a gateway under load handles many pieces at once and never
        waits for a piece to come. `counted` hears how many of the model server's pieces each one joins."""
        try:
            async with self.client.post("chat/completions", json={**body, "stream": True}) as response:
                if response.status != 200:
                    raise await self._status_error(response)
                finished = False
                lines = sse.LineSplitter()
                reader = sse.EventReader()
                async for chunk in response.content.iter_any():
                    texts: list[str] = []
                    done = False
                    for line in lines.feed(chunk):
                        for event in reader.line(line):
                            if event is None:
                                continue  # ": keep-alive" comments
                            delta = self._delta(event.data)
                            if delta.done:
                                done = True
                                break
                            finished = finished or delta.finish_reason is not None
                            if delta.content:
                                texts.append(delta.content)
                        if done:
                            break
                    if texts:
                        self._generated()
                        counted(len(texts))
                        yield "".join(texts)
                    if done:
                        await _drain(response)
                        return
                if not finished:
                    # The connection closed cleanly but the model never said it was done: the answer is cut short.
                    raise self._failed(
                        errors.upstream_error("the model's stream ended before the translation was complete")
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._transport_error(exc) from exc

    def _delta(self, data: str) -> sse.Delta:
        """One stream chunk: its text piece and finish reason (None while the model goes on)."""
        try:
            return sse.chat_delta(data)
        except sse.StreamProtocolError as exc:
            if exc.kind == "error":
                raise self._failed(errors.upstream_error(f"the model stopped: {exc.detail}")) from exc
            raise self._failed(errors.upstream_error("a stream the gateway could not read")) from exc

    async def readiness(self) -> GatewayError | None:
        """None when the upstream answers /health, lists the model and has generated text lately (a translation, or
        the one token this asks for at most every ready_probe_interval seconds); otherwise the reason it is not
        ready."""
        async with self._readiness_lock:  # concurrent probes wait for the one under way and share its answer
            if self._readiness and time.monotonic() - self._readiness[0] < _READINESS_TTL:
                return self._readiness[1]
            problem = await self._probe() or await self._generation()
            previous = self._readiness[1] if self._readiness else None
            if problem is not None and (previous is None or previous.detail != problem.detail):
                log.warning("the upstream is not ready: %s", problem.detail)  # once per change, not per probe
            self._readiness = (time.monotonic(), problem)
            return problem

    async def _probe(self) -> GatewayError | None:
        timeout = _timeout(_PROBE_TIMEOUT, self.settings.connect_timeout)
        try:
            async with self.client.get(self.settings.upstream_root + "/health", timeout=timeout) as health:
                status = health.status
            if status == 503:
                return errors.upstream_not_ready("its /health answers 503: the model is loading or its engine stopped")
            if status != 200:
                return errors.upstream_not_ready(
                    f"its /health answers {status}; is {self.settings.upstream_root} a vLLM server?"
                )
            async with self.client.get("models", timeout=timeout) as models:
                status, listing = models.status, await models.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            if _unreachable(exc):
                return errors.upstream_unreachable(f"no connection to {self.settings.upstream_url}")
            if isinstance(exc, TimeoutError):
                return errors.upstream_unreachable(
                    f"no answer from {self.settings.upstream_url} in {_PROBE_TIMEOUT:g} s"
                )
            return errors.upstream_unreachable(f"the connection to {self.settings.upstream_url} broke off")
        if status in (401, 403):
            return errors.upstream_error("the model server refused the gateway's API key; check HYMT_API_KEY")
        try:
            served = [entry["id"] for entry in json.loads(listing)["data"]]
        except (ValueError, KeyError, TypeError) as exc:
            return errors.upstream_not_ready(f"/v1/models answered {status} without a model list ({exc})")
        if self.settings.served_model not in served:
            listed = ", ".join(served) or "none"
            return errors.upstream_not_ready(
                f"the model server does not list {self.settings.served_model!r} (it serves: {listed}); "
                "check HYMT_SERVED_MODEL"
            )
        return None

    async def _generation(self) -> GatewayError | None:
        """None when the model produced text within ready_probe_interval seconds, or does now when asked for one
        token; a failed attempt stands for ready_probe_interval seconds (or until a translation succeeds)."""
        interval = self.settings.ready_probe_interval
        now = time.monotonic()
        if self._generated_at is not None and now - self._generated_at < interval:
            return None
        if self._generation_failed and now - self._generation_failed[0] < interval:
            return self._generation_failed[1]
        problem = await self._generate_one_token_or_see_text()
        if problem is None:
            self._generated()
            self._generation_failed = None
        else:
            self._generation_failed = (time.monotonic(), problem)
        return problem

    async def _generate_one_token_or_see_text(self) -> GatewayError | None:
        """The one-token probe, or less: text the model produces for a translation meanwhile answers the question too.
        A busy engine (a loaded CPU, a long queue) may hold the probe back past ready_probe_timeout while it keeps
        generating; it is not wedged, and calling it not ready would take the last serving host out of an edge's
        rotation or get its vLLM restarted by the watchdog."""
        seen: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._generation_waiters.add(seen)
        probe = asyncio.ensure_future(self._generate_one_token())
        try:
            await asyncio.wait({probe, seen}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._generation_waiters.discard(seen)
            if not probe.done():
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probe
        return None if seen.done() else probe.result()

    async def _generate_one_token(self) -> GatewayError | None:
        limit = self.settings.ready_probe_timeout
        # A real translation request, as the core builds it for the served model, cut to one token.
        profile = self.settings.model_profile
        prompt = build_prompt("你好", "en", "zh", profile.family)
        body = chat_request(prompt, self.settings.served_model, source_text="你好", sampling=profile.sampling)
        body["max_tokens"] = 1
        try:
            async with (
                asyncio.timeout(limit),  # the whole exchange, however the server trickles its answer
                self.client.post(
                    "chat/completions", json=body, timeout=_timeout(limit, self.settings.connect_timeout)
                ) as response,
            ):
                status, answer = response.status, await response.read()
        except TimeoutError:
            return errors.upstream_not_ready(
                f"it answers /health but generated no token in {limit:g} s (HYMT_READY_PROBE_TIMEOUT): its engine "
                "seems wedged"
            )
        except aiohttp.ClientError:
            return errors.upstream_unreachable(f"the connection to {self.settings.upstream_url} broke off")
        if status != 200:
            return errors.upstream_not_ready(
                f"a one-token generation answered HTTP {status}: {_upstream_message(answer)}"
            )
        try:
            json.loads(answer)["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            return errors.upstream_not_ready("a one-token generation answered without a choice")
        return None


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Reads what follows `data: [DONE]` (the chunked encoding's last chunk, sent right after it), so that the
    connection goes back to the pool: a response left unread is closed, and the next request pays for a new
    connection (a profile under 64 streams found 5% of the gateway's CPU there). A server slower than this to end
    its answer loses the connection instead."""
    if response.content.is_eof():
        return
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(_DRAIN_SECONDS):
            await response.content.read()


def _upstream_message(body: bytes) -> str:
    try:
        return sse.error_message(json.loads(body))
    except ValueError:
        return body[:200].decode("utf-8", errors="replace") or "no details"


def _timeout(total: float, connect: float) -> aiohttp.ClientTimeout:
    """A bound on a whole short exchange (a probe), connecting included."""
    return aiohttp.ClientTimeout(total=total, sock_connect=min(connect, total))


def _unreachable(exc: BaseException) -> bool:
    """Whether `exc` means no connection could be made (refused, no route, or connecting took too long)."""
    return isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
