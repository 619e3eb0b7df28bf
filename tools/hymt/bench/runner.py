"""Sending the load: a closed loop of N clients (`--concurrency`) or an open loop of Poisson arrivals (`--rate`),
each request streamed and timed piece by piece.

Two APIs: `web` (a deployment's /api/translate/stream: the gateway builds the prompt; output tokens are the model's
pieces its done event counts) and `openai` (an OpenAI-compatible server such as vLLM: the prompt is built here by the
translation core, exactly as the gateway builds it; output tokens come from the stream's usage figure when the server
sends it).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from hymt.bench.stats import Outcome
from hymt.bench.workload import Request
from hymt.core.prompts import build_prompt, chat_request, resolve_model
from hymt.core.sse import StreamProtocolError, chat_delta, iter_events, iter_lines, iter_named_events
from hymt.sdk.transport import raw_chunks

APIS = ("web", "openai")


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

    def post(self, session: requests.Session, request: Request) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        if self.api == "web":
            body: dict[str, object] = {"text": request.text, "target": request.target, "source": request.source}
            url = self.url.rstrip("/") + "/api/translate/stream"
        else:
            profile = resolve_model(self.model)  # the catalogue's family and sampling (Hy-MT2-30B-A3B has its own)
            prompt = build_prompt(request.text, request.target, request.source, profile.family)
            body = chat_request(prompt, self.model, source_text=request.text, stream=True, sampling=profile.sampling)
            body["stream_options"] = {"include_usage": True}
            if self.max_tokens is not None:
                body["max_tokens"] = self.max_tokens
            if self.ignore_eos:
                body["ignore_eos"] = True
            url = self.url.rstrip("/") + "/chat/completions"
        return session.post(url, json=body, headers=headers, stream=True, timeout=(10, self.timeout))


def measure(target: Target, session: requests.Session, request: Request, clock: Callable[[], float]) -> Outcome:
    """Send one request and time its pieces; every failure becomes the outcome's error, never an exception."""
    outcome = Outcome(started=clock())
    last: float | None = None
    try:
        with target.post(session, request) as response:
            if response.status_code != 200:
                outcome.error = f"http {response.status_code}"
                return outcome
            for piece, tokens in _pieces(target.api, response):
                now = clock()
                if piece:
                    if outcome.first is None:
                        outcome.first = now
                    else:
                        outcome.gaps.append(now - (last or now))
                    last = now
                outcome.output_tokens = tokens if tokens is not None else outcome.output_tokens + (1 if piece else 0)
    except requests.Timeout:
        outcome.error = "timeout"
    except requests.ConnectionError:
        outcome.error = "connection"
    except _StreamFailed as failed:
        outcome.error = str(failed)
    finally:
        outcome.ended = clock()
    return outcome


class _StreamFailed(Exception):
    """The stream reported an error, or ended before its answer was complete."""


def _pieces(api: str, response: requests.Response) -> Iterator[tuple[str, int | None]]:
    """(text, output tokens so far when the server counts them) per piece; _StreamFailed when the stream fails."""
    lines = iter_lines(raw_chunks(response))
    if api == "web":
        for event in iter_named_events(lines):
            if event is None:
                continue
            if event.name == "delta":
                yield json.loads(event.data).get("text", ""), None
            elif event.name == "done":
                # The gateway joins the pieces that reach it together: its count of the model's pieces, when it
                # sends one, is the output; an older gateway sent one event a piece.
                pieces = json.loads(event.data).get("pieces")
                if isinstance(pieces, int):
                    yield "", pieces
                return
            elif event.name == "error":
                raise _StreamFailed("stream error")
        raise _StreamFailed("stream cut off")
    for data in iter_events(lines):
        if data is None:
            continue
        try:
            delta = chat_delta(data)
        except StreamProtocolError:
            raise _StreamFailed("stream error") from None
        if delta.done:
            return
        usage = _usage(data)
        yield delta.content, usage
    raise _StreamFailed("stream cut off")


def _usage(data: str) -> int | None:
    try:
        usage = json.loads(data).get("usage")
    except (ValueError, AttributeError):
        return None
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else None


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
    until `duration` seconds have passed or `count` requests were sent, whichever comes first."""
    if (concurrency is None) == (rate is None):
        raise ValueError("give either a concurrency or a rate")
    if duration is None and count is None:
        raise ValueError("give a duration or a number of requests")
    requests_cycle = itertools.cycle(workload)
    lock = threading.Lock()
    sent = 0
    outcomes: list[Outcome] = []
    start = clock()
    deadline = start + duration if duration is not None else float("inf")

    def take() -> Request | None:
        nonlocal sent
        with lock:
            if clock() >= deadline or (count is not None and sent >= count):
                return None
            sent += 1
            return next(requests_cycle)

    def record(outcome: Outcome) -> None:
        with lock:
            outcomes.append(outcome)
        on_outcome(outcome)

    workers = concurrency if concurrency is not None else 1024
    sessions = threading.local()

    def session() -> requests.Session:
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
        return sessions.s

    with ThreadPoolExecutor(max_workers=workers) as pool:
        if concurrency is not None:

            def client() -> None:
                while (request := take()) is not None:
                    record(measure(target, session(), request, clock))

            for _ in range(concurrency):
                pool.submit(client)
        else:
            arrivals = random.Random(seed)
            while (request := take()) is not None:
                pool.submit(lambda r=request: record(measure(target, session(), r, clock)))
                time.sleep(arrivals.expovariate(rate))  # type: ignore[arg-type]
    return Level(outcomes, clock() - start)
