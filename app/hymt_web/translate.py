"""From a request to a translation: checks, chunking, concurrent upstream calls and reassembly.

Everything language-specific (codes, prompts, sampling, detection, chunking) comes from the translation core.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hymt.core.chunking import TextPlan, split_text, whole_text
from hymt.core.features import NO_FEATURES, FeatureError, Features
from hymt.core.languages import AUTO, LANGUAGES, UnknownLanguageError, get_language, is_chinese, normalize_code
from hymt.core.prompts import ModelProfile, build_prompt, chat_request, estimate_tokens, resolve_source
from hymt.core.text import text_problem
from hymt_web import errors
from hymt_web.errors import GatewayError
from hymt_web.settings import Settings
from hymt_web.upstream import Upstream

log = logging.getLogger("hymt_web")
T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    """A checked request: what to send upstream, and how to put the answers back together."""

    source: str  # the given or detected code; "auto" when detection was unsure
    target: str
    plan: TextPlan
    started: float
    profile: ModelProfile  # the model's prompt family and sampling
    features: Features
    text: str  # the text as sent, for checking the translation's placeholders and structure
    model: str
    budget: int  # input tokens per request, for planning a segment again line by line
    max_requests: int  # upstream requests this translation may take in all, fallbacks included
    count: Callable[[str], int] | None  # the model's token count, when its tokenizer is at hand

    @functools.cached_property
    def bodies(self) -> tuple[dict[str, object], ...]:
        """One chat request per segment of the plan."""
        return tuple(self.body(segment) for segment in self.plan.segments)

    def body(self, segment: str) -> dict[str, object]:
        prompt = build_prompt(segment, self.target, self.source, self.profile.family, self.features)
        return chat_request(prompt, self.model, source_text=segment, sampling=self.profile.sampling)

    def fallback(self, index: int, answer: str, requests_made: int) -> TextPlan | None:
        """The plan to translate segment `index` again line by line, when its answer lost or gained lines.

        None when the answer kept the lines, or when a request per line would take more than this translation may
        (the model's layout is kept then, and logged). Never for structured data: its lines are not sentences."""
        if self.features.whole or self.plan.keeps_lines(index, answer):
            return None
        plan = self.plan.line_by_line(index, self.budget, self.count)
        if requests_made + len(plan.segments) > self.max_requests:
            log.warning(
                "the model changed the line count of a %d-line segment; no line-by-line retry (it would take %d "
                "requests more, over the %d one translation may take)",
                self.plan.line_count(index),
                len(plan.segments),
                self.max_requests,
            )
            return None
        log.info(
            "the model changed the line count of a %d-line segment: translating it line by line", len(plan.segments)
        )
        return plan

    def result(self, model: str, translations: list[str]) -> dict[str, object]:
        translation = self.plan.join(translations)
        result: dict[str, object] = {
            "translation": translation,
            "source": self.source,
            "target": self.target,
            "model": model,
            "elapsed_ms": round((time.perf_counter() - self.started) * 1000),
        }
        warnings = self.features.check(self.text, translation)
        if warnings:
            result["warnings"] = warnings
        return result


def make_features(
    glossary: Sequence[tuple[str, str]] = (),
    context: str = "",
    style: str = "",
    format: str = "text",
    delimiters: bool = False,
) -> Features:
    """The features of a request; GatewayError 422 says what is wrong with them."""
    try:
        return Features(glossary=tuple(glossary), context=context, style=style, delimiters=delimiters, format=format)
    except FeatureError as invalid:
        raise GatewayError(422, "invalid_features", _sentence(str(invalid))) from None


def deployment_glossary(settings: Settings, glossary_id: str, source: str, target: str) -> Features:
    """The `glossary` feature of the deployment's glossary `glossary_id` (HYMT_GLOSSARIES_FILE) for a translation from
    `source` to `target` (codes as the request gave them); GatewayError 422 when there is no such glossary, when the
    source is not given, when the glossary is for other languages, or when the model's prompts have no glossary."""
    glossary = settings.glossaries.get(glossary_id)
    if glossary is None:
        raise GatewayError(
            422,
            "unknown_glossary",
            f"This deployment has no glossary {glossary_id!r}. Its glossaries are defined in its inventory "
            "(hymt_glossaries); with DeepL's API on, GET /v2/glossaries lists them.",
        )
    pair = f"{glossary.source_lang} to {glossary.target_lang}"
    try:
        source, target = normalize_code(source, allow_auto=True), normalize_code(target)
    except UnknownLanguageError:
        source = target = ""  # prepare names the unknown code
    if source == AUTO:
        raise GatewayError(
            422,
            "glossary_needs_source",
            f"Use of a glossary requires the source language to be given, not detected: {glossary_id!r} is for {pair}.",
        )
    if source and (glossary.source_lang, glossary.target_lang) != (source, target):
        raise GatewayError(
            422,
            "glossary_language_mismatch",
            f"The glossary {glossary_id!r} is for {pair}, but the request is {source} to {target}: translate between "
            "the glossary's languages, or use another glossary.",
        )
    features = Features(glossary=glossary.entries)
    try:
        settings.model_profile.check(features)
    except FeatureError as unsupported:
        raise GatewayError(422, "unsupported_feature", _sentence(str(unsupported))) from None
    return features


def _sentence(message: str) -> str:
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


def check_text(settings: Settings, text: str) -> None:
    """GatewayError (422, 413) when `text` is empty, longer than the limit, or not text the model may be sent."""
    if not text.strip():
        raise GatewayError(422, "empty_text", "There is no text to translate: type or paste some text first.")
    length = len(text)
    if length > settings.max_chars:
        raise GatewayError(
            413,
            "text_too_long",
            f"The text has {length} characters but the limit is {settings.max_chars}. Translate it in smaller parts.",
        )
    problem = text_problem(text)
    if problem:
        raise GatewayError(422, "invalid_text", problem)


def detect(settings: Settings, text: str) -> dict[str, str | None]:
    """The language `text` is in, as a translation with source "auto" would take it: its code and English name, or
    "auto" and None when detection is unsure. GatewayError for text a translation would refuse."""
    check_text(settings, text)
    code = resolve_source(text, AUTO)
    return {"source": code, "name": None if code == AUTO else get_language(code).name_en}


def prepare(
    settings: Settings,
    text: str,
    target: str,
    source: str = AUTO,
    *,
    count: Callable[[str], int] | None = None,
    features: Features = NO_FEATURES,
) -> Job:
    """Check a request and plan its upstream calls; GatewayError (422, 413) says what is wrong with it.

    `count` is the model's token count (hymt.core.tokens): with it, every request fits the budget as the model counts.
    Structured data (`features.whole`) goes to the model in one request, never split.
    """
    started = time.perf_counter()
    check_text(settings, text)
    if target.strip().lower() == AUTO:
        raise GatewayError(422, "unknown_language", "Choose a target language: 'auto' can only be the source.")
    try:
        target = normalize_code(target)
    except UnknownLanguageError:
        raise _unknown("target", target) from None
    try:
        source = normalize_code(source, allow_auto=True)
    except UnknownLanguageError:
        raise _unknown("source", source) from None
    if source == target:
        name = get_language(target).name_en
        raise GatewayError(
            422, "same_language", f"The source and the target are both {name}: choose a different target language."
        )
    profile = settings.model_profile
    try:
        profile.check(features)
    except FeatureError as unsupported:
        raise GatewayError(422, "unsupported_feature", _sentence(str(unsupported))) from None
    detected = resolve_source(text, source)
    if source == AUTO and detected == target:
        name = get_language(target).name_en
        other = "English" if is_chinese(target) else "Chinese"
        raise GatewayError(
            422,
            "same_language",
            f"The text looks like {name} already, and {name} is the target: choose another target language (e.g. "
            f"{other}), or give the source language if the text is not {name}.",
        )
    plan = _whole(settings, text, count) if features.whole else _split(settings, text, count)
    return Job(
        source=detected,
        target=target,
        plan=plan,
        started=started,
        profile=profile,
        features=features,
        text=text,
        model=settings.served_model,
        budget=settings.chunk_tokens,
        max_requests=settings.max_segments,
        count=count,
    )


def _split(settings: Settings, text: str, count: Callable[[str], int] | None) -> TextPlan:
    """The text's segments, at most max_segments of them (413 otherwise)."""
    plan = split_text(text, settings.chunk_tokens, count=count)
    if len(plan.segments) > settings.max_segments:  # very many tiny paragraphs: let them share requests too
        plan = split_text(text, settings.chunk_tokens, across_paragraphs=True, count=count)
    if len(plan.segments) > settings.max_segments:
        raise GatewayError(
            413,
            "too_many_parts",
            f"The text would take {len(plan.segments)} requests to the model, more than the {settings.max_segments} "
            "one translation may take. Translate it in smaller parts.",
        )
    return plan


def _whole(settings: Settings, text: str, count: Callable[[str], int] | None) -> TextPlan:
    """A plan of one request for the whole text (its outer whitespace kept), or 413 when it does not fit one."""
    body = text.strip()
    tokens = (count or estimate_tokens)(body)
    if tokens > settings.chunk_tokens:
        raise GatewayError(
            413,
            "too_long_for_one_request",
            f"Structured data goes to the model in one request, and this text takes about {tokens} tokens, more than "
            f"the {settings.chunk_tokens} one request may carry. Translate it in smaller parts.",
        )
    return whole_text(text)


def _unknown(side: str, code: str) -> GatewayError:
    return GatewayError(
        422,
        "unknown_language",
        f"Unknown {side} language {code!r}. Use one of the {len(LANGUAGES)} codes that /api/languages lists"
        + (" (or 'auto')." if side == "source" else "."),
    )


def _timed_out(settings: Settings) -> GatewayError:
    seconds = f"{settings.request_timeout:g}"
    log.warning("a translation timed out: no complete translation within %s seconds", seconds)
    return GatewayError(
        504,
        "upstream_timeout",
        f"The translation took longer than the {seconds} seconds one translation may take. Translate a shorter "
        "text, or try again later.",
        detail=f"no complete translation within {seconds} seconds (HYMT_REQUEST_TIMEOUT)",
    )


async def run_bounded(works: Sequence[Callable[[], Awaitable[T]]], limit: asyncio.Semaphore) -> list[T]:
    """The results of `works`, in order, at most `limit` at once; on a failure the others are cancelled and the first
    GatewayError is raised as itself (a fault of the gateway's own as internal_error)."""

    async def one(work: Callable[[], Awaitable[T]]) -> T:
        async with limit:
            return await work()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(work)) for work in works]
    except ExceptionGroup as failed:
        failures = [e for e in failed.exceptions if isinstance(e, GatewayError)]
        raise (failures[0] if failures else errors.internal(failed.exceptions[0])) from None
    return [task.result() for task in tasks]


async def _complete_all(
    upstream: Upstream, bodies: Sequence[dict[str, object]], limit: asyncio.Semaphore, counted: Callable[[int], None]
) -> list[str]:
    """The answers to `bodies`, in order, at most `limit` at once (run_bounded); `counted` hears their output tokens."""
    return await run_bounded([functools.partial(upstream.complete, body, counted) for body in bodies], limit)


async def translate(upstream: Upstream, job: Job) -> dict[str, object]:
    """The whole translation: the segments translated concurrently (bounded), then joined in order.

    A segment of several lines whose answer has another number of lines is translated again line by line (see
    Job.fallback), so the translation keeps the text's layout."""
    settings = upstream.settings
    limit = asyncio.Semaphore(settings.chunk_concurrency)
    output_tokens: list[int] = []  # as the model server reported them, per answer

    try:
        async with asyncio.timeout(settings.request_timeout):
            answers = await _complete_all(upstream, job.bodies, limit, output_tokens.append)
            made = len(answers)
            for index, answer in enumerate(answers):
                plan = job.fallback(index, answer, made)
                if plan is not None:
                    made += len(plan.segments)
                    bodies = [job.body(s) for s in plan.segments]
                    answers[index] = plan.join(await _complete_all(upstream, bodies, limit, output_tokens.append))
    except TimeoutError:
        raise _timed_out(settings) from None
    result = job.result(settings.served_model, answers)
    if output_tokens:  # a plain answer has no pieces to count: the model server's own count (hymt bench reads it)
        result["output_tokens"] = sum(output_tokens)
    return result


class _End:
    """Marks the end of one segment's answer in its queue."""


class StreamingTranslation:
    """A translation streamed in order while later segments are already being translated.

    Each segment's answer is fetched by its own task into its own queue (at most `chunk_concurrency` at once); the
    reader forwards segment 0 as its pieces arrive (all those waiting at once joined into one), then segment 1 (often
    complete by then), and so on.
    Whitespace around each segment's answer is dropped exactly as TextPlan.join drops it, so the pieces add up to
    the final translation. A segment of several lines is forwarded whole, once its line count is checked (and
    translated again line by line if the model changed it), so no piece sent has to be taken back.
    """

    def __init__(self, upstream: Upstream, job: Job) -> None:
        self.upstream = upstream
        self.job = job
        self._queues: list[asyncio.Queue[str | _End | GatewayError]] = [asyncio.Queue() for _ in job.bodies]
        self._tasks: list[asyncio.Task[None]] = []
        self._answers = [""] * len(job.bodies)
        self._limit = asyncio.Semaphore(upstream.settings.chunk_concurrency)
        self._requests = len(job.bodies)  # upstream requests made or planned, line-by-line retries included
        self._held: dict[int, _End | GatewayError] = {}  # a segment's end, taken from its queue with its last text
        self.pieces = 0  # the model server's pieces streamed so far (vLLM: a token each)

    async def _fetch(self, index: int) -> None:
        queue = self._queues[index]
        try:
            async with self._limit:
                async for piece in self.upstream.stream(self.job.bodies[index], self._count):
                    queue.put_nowait(piece)
            queue.put_nowait(_End())
        except GatewayError as error:
            queue.put_nowait(error)
        except Exception as exc:  # a fault of the gateway's own: the reader must hear of it, not wait for it
            queue.put_nowait(errors.internal(exc))

    def _count(self, pieces: int) -> None:
        self.pieces += pieces

    def close(self) -> None:
        """Cancel whatever upstream requests are still open (the client left, or one segment failed).

        Once only: a second cancel of a task that is already closing its upstream connection would interrupt that
        close (the connection would stay open, the model still writing into it)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()

    def result(self) -> dict[str, object]:
        """The done event's Translation, with the count of pieces streamed: the stream's events join the pieces
        that arrive together, so a client counting tokens (hymt bench) cannot count events."""
        return {**self.job.result(self.upstream.settings.served_model, self._answers), "pieces": self.pieces}

    async def deltas(self) -> AsyncIterator[str]:
        """The translation in pieces, in order; raises GatewayError when the upstream fails."""
        settings = self.upstream.settings
        deadline = asyncio.get_running_loop().time() + settings.request_timeout
        self._tasks = [asyncio.create_task(self._fetch(i)) for i in range(len(self.job.bodies))]
        try:
            literal = ""  # text between segments (line breaks, indentation), sent with the next piece
            for piece in self.job.plan.pieces:
                if isinstance(piece, str):
                    literal += piece
                    continue
                if self.job.plan.line_count(piece) > 1:
                    # Lines of a group are held until their answer is whole and its line count checked.
                    text = await self._whole(piece, deadline)
                    if text:
                        yield literal + text
                        literal = ""
                    continue
                trim = _Trim()
                while (item := await self._next(piece, deadline)) is not None:
                    self._answers[piece] += item
                    text = trim.feed(item)
                    if text:
                        yield literal + text
                        literal = ""
            if literal:
                yield literal
        finally:
            self.close()

    async def _next(self, index: int, deadline: float) -> str | None:
        """What has come of segment `index`'s answer since the last call, at once when something waits (all the
        pieces waiting, joined: one event for the client instead of one each); None at its end."""
        queue = self._queues[index]
        item = self._held.pop(index, None)
        if item is None:
            try:
                # One timeout scope per wait, not a task per piece as wait_for makes.
                async with asyncio.timeout_at(deadline):
                    item = await queue.get()
            except TimeoutError:
                raise _timed_out(self.upstream.settings) from None
        if isinstance(item, str):
            parts = [item]
            while not queue.empty():
                waiting = queue.get_nowait()
                if not isinstance(waiting, str):
                    self._held[index] = waiting  # the end or a failure: after the text that came before it
                    break
                parts.append(waiting)
            return "".join(parts)
        if isinstance(item, GatewayError):
            raise item
        return None

    async def _whole(self, index: int, deadline: float) -> str:
        """Segment `index`'s whole answer, translated again line by line when the model changed its line count."""
        while (item := await self._next(index, deadline)) is not None:
            self._answers[index] += item
        plan = self.job.fallback(index, self._answers[index], self._requests)
        if plan is not None:
            self._requests += len(plan.segments)
            try:
                async with asyncio.timeout_at(deadline):
                    # Their tokens count as pieces: the model wrote them for this translation, as it wrote those
                    # streamed (the model server's count of them, as the plain answer's output_tokens is).
                    bodies = [self.job.body(s) for s in plan.segments]
                    answers = await _complete_all(self.upstream, bodies, self._limit, self._count)
            except TimeoutError:
                raise _timed_out(self.upstream.settings) from None
            self._answers[index] = plan.join(answers)
        return self._answers[index].strip()


class _Trim:
    """Strips a streamed text as str.strip() would, without waiting for its end: holds back trailing whitespace."""

    def __init__(self) -> None:
        self.started = False
        self.held = ""

    def feed(self, piece: str) -> str:
        if not self.started:
            piece = piece.lstrip()
            if not piece:
                return ""
            self.started = True
        piece = self.held + piece
        body = piece.rstrip()
        self.held = piece[len(body) :]
        return body
