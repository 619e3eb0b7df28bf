"""Sending the load: a closed loop of N clients (`--concurrency`) or an open loop of Poisson arrivals (`--rate`),
each request streamed and timed piece by piece, or (`--no-stream`) sent plain and timed to its whole answer.

Two APIs: `web` (a deployment's /api/translate/stream: the gateway builds the prompt; output tokens are the model's
pieces its done event counts) and `openai` (an OpenAI-compatible server such as vLLM: the prompt is built here by the
translation core, exactly as the gateway builds it; output tokens come from the stream's usage figure when the server
sends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import certifi

from hymt.bench.stats import Outcome
from hymt.bench.workload import Request
from hymt.core.prompts import build_prompt, chat_request, resolve_model
from hymt.core.sse import EventReader, LineSplitter, StreamProtocolError, chat_delta, completion_tokens

# The open loop's cap on requests under way at once: beyond it, arrivals wait for a free place (their time counted
# from when they are sent, as vllm bench counts it under --max-concurrency).
OPEN_LOOP_LIMIT = 1024
DRAIN_SECONDS = 0.05  # how long the end of a finished answer's body may take to come
CONNECT_TIMEOUT = 10.0  # seconds to open a connection; --timeout bounds each wait for the answer's next bytes
# vLLM's server closes a connection after 5 s without a request: one kept longer may be taken for a request just as
# vLLM closes it, and fail although the server is fine (an open loop at a low rate leaves connections that idle).
IDLE_SECONDS = 2.0


class TargetError(ValueError):
    """The target cannot be loaded as given (its certificates cannot be read); the message says what to change."""


@dataclass(frozen=True)
class Target:
    url: str  # web: the deployment's address; openai: the base URL ending in /v1
    api: str = "web"
    model: str = "Hunyuan-MT-7B"  # openai: the served model name
    api_key: str | None = None  # openai: vLLM's key; web: a private deployment's access key
    timeout: float = 300.0
    # openai only, to send the same work as another benchmark: a fixed answer length (instead of the translation
    # core's, which follows the text's length) and vLLM's ignore_eos, so that every answer is exactly that long.
    max_tokens: int | None = None
    ignore_eos: bool = False
    # False: the plain APIs (web: /api/translate; openai: "stream": false), each answer timed as a whole: its time to
    # first token is its whole latency, and its output tokens are the count the answer carries (0 without one).
    stream: bool = True

    def http_request(self, request: Request) -> tuple[str, dict[str, object], dict[str, str]]:
        """The URL, JSON body and headers that send `request` to this target."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        if self.api == "web":
            body: dict[str, object] = {"text": request.text, "target": request.target, "source": request.source}
            route = "/api/translate/stream" if self.stream else "/api/translate"
            return self.url.rstrip("/") + route, body, headers
        profile = resolve_model(self.model)  # the catalogue's family and sampling (Hy-MT2-30B-A3B has its own)
        prompt = build_prompt(request.text, request.target, request.source, profile.family)
        body = chat_request(prompt, self.model, source_text=request.text, stream=self.stream, sampling=profile.sampling)
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.ignore_eos:
            body["ignore_eos"] = True
        return self.url.rstrip("/") + "/chat/completions", body, headers


def tls_context(environ: Mapping[str, str] = os.environ) -> ssl.SSLContext:
    """Certificates checked as `requests` (the rest of the CLI) checks them: against REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE when set (a file or a directory of certificates), else certifi's bundle."""
    name = "REQUESTS_CA_BUNDLE" if environ.get("REQUESTS_CA_BUNDLE") else "CURL_CA_BUNDLE"
    bundle = environ.get(name) or certifi.where()
    try:
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise TargetError(
            f"cannot read the certificates of {bundle} ({name}): {reason}; point {name} at a PEM file of CA "
            "certificates, or unset it to use certifi's"
        ) from None


async def measure(
    target: Target, session: aiohttp.ClientSession, request: Request, clock: Callable[[], float]
) -> Outcome:
    """Send one request and time its pieces; every failure becomes the outcome's error, never an exception."""
    url, body, headers = target.http_request(request)
    outcome = Outcome(started=clock())
    last: float | None = None
    finished: float | None = None  # when the answer's last event came (its body's end is read after it)
    answering = False  # the server's answer began: a connection lost from here on cut the stream
    try:
        async with session.post(url, json=body, headers=headers) as response:
            answering = True
            if response.status != 200:
                outcome.error = f"http {response.status}"
                return outcome
            if not target.stream:
                outcome.output_tokens = _answer_tokens(target.api, await response.read())
                finished = clock()
                return outcome
            stream = _Stream(target.api)
            # Every piece that arrived in one read is handled in one go, as the gateway reads its upstream.
            async for chunk in response.content.iter_any():
                for piece, tokens in stream.feed(chunk):
                    now = clock()
                    if piece:
                        if outcome.first is None:
                            outcome.first = now
                        else:
                            outcome.gaps.append(now - (last or now))
                        last = now
                    outcome.output_tokens = (
                        tokens if tokens is not None else outcome.output_tokens + (1 if piece else 0)
                    )
                if stream.finished:
                    finished = clock()
                    await _drain(response)
                    return outcome
            stream.end()
    except TimeoutError:  # aiohttp's timeouts (connecting, or silence longer than --timeout) are TimeoutErrors
        outcome.error = "timeout"
    except aiohttp.ClientError:
        outcome.error = "stream cut off" if answering else "connection"
    except _StreamFailed as failed:
        outcome.error = str(failed)
    finally:
        outcome.ended = finished if finished is not None else clock()
    return outcome


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read the body's end, which follows the answer's last event at once, so that the connection is kept for the
    next request (a body left unread closes it); a server slower than DRAIN_SECONDS loses the connection instead."""
    if response.content.is_eof():
        return
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(DRAIN_SECONDS):
            await response.content.read()


def _answer_tokens(api: str, body: bytes) -> int:
    """The output tokens of a plain answer as the server counted them (the OpenAI API's usage; the web API's
    output_tokens), 0 when it sent no count, or _StreamFailed when the answer is not the API's: a translation (web)
    or a choice's message (openai)."""
    try:
        answer = json.loads(body)
        if api == "web":
            if not isinstance(answer.get("translation"), str):
                raise ValueError
            tokens = answer.get("output_tokens")
        else:
            if not isinstance(answer["choices"][0]["message"]["content"], str):
                raise ValueError
            tokens = completion_tokens(answer)
    except (ValueError, LookupError, TypeError, AttributeError):
        raise _StreamFailed("bad answer") from None
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else 0


class _StreamFailed(Exception):
    """The stream reported an error, or ended before its answer was complete (or a plain answer was not one)."""


class _Stream:
    """One answer's stream, fed as its bytes arrive: (text, output tokens so far when the server counts them) per
    piece; _StreamFailed when the stream fails."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.lines = LineSplitter()
        self.events = EventReader()
        self.finished = False

    def feed(self, chunk: bytes) -> Iterator[tuple[str, int | None]]:
        for line in self.lines.feed(chunk):
            yield from self._line(line)
            if self.finished:
                return

    def end(self) -> None:
        """The body ended: complete only if the answer's end was seen (an event left open is dropped)."""
        for line in self.lines.end():
            for _ in self._line(line):
                pass
        if not self.finished:
            raise _StreamFailed("stream cut off")

    def _line(self, line: str) -> Iterator[tuple[str, int | None]]:
        for event in self.events.line(line):
            if event is None:
                continue  # a comment (keep-alive)
            if self.api == "web":
                yield from self._web(event.name, event.data)
            else:
                yield from self._openai(event.data)
            if self.finished:
                return

    def _web(self, name: str, data: str) -> Iterator[tuple[str, int | None]]:
        if name == "error":
            raise _StreamFailed("stream error")
        if name not in ("delta", "done"):
            return
        try:
            fields = json.loads(data)
            text, pieces = str(fields.get("text", "")), fields.get("pieces")
        except (ValueError, AttributeError):
            raise _StreamFailed("stream error") from None
        if name == "delta":
            yield text, None
            return
        self.finished = True
        # The gateway joins the pieces that reach it together: its count of the model's pieces, when it sends one,
        # is the output; an older gateway sent one event a piece.
        if isinstance(pieces, int):
            yield "", pieces

    def _openai(self, data: str) -> Iterator[tuple[str, int | None]]:
        try:
            delta = chat_delta(data)
        except StreamProtocolError:
            raise _StreamFailed("stream error") from None
        if delta.done:
            self.finished = True
            return
        yield delta.content, _usage(data)


def _usage(data: str) -> int | None:
    if '"usage"' not in data:  # vLLM sends its usage in the last chunk only: the others need no second parse
        return None
    try:
        return completion_tokens(json.loads(data))
    except ValueError:
        return None


@dataclass
class Level:
    """What one level of load returns: every request's outcome and how long the level ran."""

    outcomes: list[Outcome]
    duration: float


def run_level(
    target: Target,
    workload: Sequence[Request],
    *,
    concurrency: int | None = None,
    rate: float | None = None,
    duration: float | None = None,
    count: int | None = None,
    on_outcome: Callable[[Outcome], None] = lambda _: None,
    clock: Callable[[], float] = time.perf_counter,
    seed: int = 0,
) -> Level:
    """Load at `concurrency` clients (closed loop) or `rate` requests a second (open loop, up to 1,024 at once),
    until `duration` seconds have passed or `count` requests were sent, whichever comes first.

    One event loop and one connection pool for the level: every stream is read by the same thread, so the client's
    cost per token is small beside the server's (a thread per stream fell behind on two cores, docs/performance.md)."""
    if (concurrency is None) == (rate is None):
        raise ValueError("give either a concurrency or a rate")
    if duration is None and count is None:
        raise ValueError("give a duration or a number of requests")
    tls = tls_context() if target.url.lower().startswith("https:") else True  # TargetError before any request
    return asyncio.run(_level(target, workload, concurrency, rate, duration, count, on_outcome, clock, seed, tls))


async def _level(
    target: Target,
    workload: Sequence[Request],
    concurrency: int | None,
    rate: float | None,
    duration: float | None,
    count: int | None,
    on_outcome: Callable[[Outcome], None],
    clock: Callable[[], float],
    seed: int,
    tls: ssl.SSLContext | bool,
) -> Level:
    requests_cycle = itertools.cycle(workload)
    sent = 0
    outcomes: list[Outcome] = []
    start = clock()
    deadline = start + duration if duration is not None else float("inf")

    def take() -> Request | None:
        nonlocal sent
        if clock() >= deadline or (count is not None and sent >= count):
            return None
        sent += 1
        return next(requests_cycle)

    async def send(session: aiohttp.ClientSession, request: Request) -> None:
        outcome = await measure(target, session, request, clock)
        outcomes.append(outcome)
        on_outcome(outcome)

    limit = concurrency if concurrency is not None else OPEN_LOOP_LIMIT
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, keepalive_timeout=IDLE_SECONDS, ssl=tls)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=target.timeout)
    # trust_env: proxies from the environment (HTTPS_PROXY, NO_PROXY) and .netrc, as `requests` takes them.
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=True) as session:
        if concurrency is not None:

            async def client() -> None:
                while (request := take()) is not None:
                    await send(session, request)

            await asyncio.gather(*(client() for _ in range(concurrency)))
        else:
            arrivals = random.Random(seed)
            places = asyncio.Semaphore(OPEN_LOOP_LIMIT)
            under_way: set[asyncio.Task[None]] = set()

            async def arrive(request: Request) -> None:
                async with places:
                    await send(session, request)

            while (request := take()) is not None:
                task = asyncio.create_task(arrive(request))
                under_way.add(task)
                task.add_done_callback(under_way.discard)
                await asyncio.sleep(arrivals.expovariate(rate))  # type: ignore[arg-type]
            await asyncio.gather(*under_way)
    return Level(outcomes, clock() - start)
