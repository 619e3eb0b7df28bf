"""The translation client for OpenAI-compatible servers (vLLM serving Hunyuan-MT, directly or through a tunnel).

Prompts, sampling, source detection and chunking come from hymt.core, so this client asks exactly what the web app
and the smoke tool ask. A long text is split into segments that each fit the model's context; the segments are
translated concurrently and put back together with the source's line breaks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import requests

from hymt.core.chunking import TextPlan, split_text, whole_text
from hymt.core.features import NO_FEATURES, FeatureError, Features
from hymt.core.languages import AUTO, UnknownLanguageError, normalize_code
from hymt.core.prompts import build_prompt, chat_request, estimate_tokens, resolve_source, unwrap_formatted
from hymt.core.sse import StreamProtocolError, chat_delta
from hymt.sdk.base import BaseClient, run_concurrently
from hymt.sdk.errors import HymtError, InvalidRequest, ModelNotFound, StreamInterrupted, UpstreamError
from hymt.sdk.result import StreamProgress, Translation, TranslationStream
from hymt.sdk.settings import ClientSettings

_CHAT = "chat/completions"
# What the user reads when a stream breaks the protocol, by core.sse.StreamProtocolError's kind.
_STREAM_PROBLEMS = {
    "not_json": "the stream carried something that is not JSON: {}",
    "unexpected": "the stream carried an unexpected event: {}",
    "error": "the server failed while streaming: {}",
}
Task = TypeVar("Task")


@dataclass(frozen=True)
class _Job:
    """One text, checked and taken apart, ready to send."""

    source: str  # as given, or detected ("auto" when unsure)
    target: str
    plan: TextPlan
    text: str
    features: Features

    def finish(self, answer: str) -> str:
        """A segment's answer as the translation: HY-MT1.5's formatted answer without its <target> wrapper."""
        return unwrap_formatted(answer) if self.features.formatted else answer

    def warnings(self, translation: str) -> list[str]:
        return self.features.check(self.text, translation)


class TranslationClient(BaseClient):
    """Translate with Hunyuan-MT on any OpenAI-compatible server.

    >>> with TranslationClient(ClientSettings(base_url="http://127.0.0.1:8000/v1")) as client:
    ...     client.translate("Guten Morgen", "en").text

    Without settings, they come from HYMT_UPSTREAM_URL, HYMT_API_KEY and HYMT_SERVED_MODEL (BaseClient has the rest).
    """

    settings_type = ClientSettings
    settings: ClientSettings

    def _transport_options(self) -> dict[str, object]:
        return {"api_key": self.settings.api_key}

    @property
    def model(self) -> str:
        return self.settings.model

    # -- the API ----------------------------------------------------------------------------------------------------
    def models(self) -> list[str]:
        """The model names the server serves."""
        payload = self.transport.get_json("models")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise UpstreamError(self.settings.base_url, 200, "the /models answer has no model list")
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    def translate(self, text: str, target: str, source: str = AUTO, *, features: Features | None = None) -> Translation:
        """Translate `text` into the language `target` (a code such as "en" or "zh-Hant"), with the prompted
        `features` the model's family has (hymt.core.features; InvalidRequest for one it has not)."""
        return self._run([self._prepare(text, target, source, features)], self.settings.max_workers)[0]

    def stream(
        self, text: str, target: str, source: str = AUTO, *, features: Features | None = None
    ) -> TranslationStream:
        """The translation as pieces of text, as the server produces them.

        The request is checked at once (InvalidRequest is raised here); server errors surface while iterating.
        Connection failures, 429 and 503 are retried before the first piece of each answer arrives, never after:
        no piece is ever delivered twice.
        """
        job = self._prepare(text, target, source, features)
        if job.features.formatted:
            raise InvalidRequest(
                "a formatted (<sn>) translation comes wrapped in <target> tags, so it is not streamed",
                "use translate() for it",
            )
        progress = StreamProgress(segments=len(job.plan.segments), check=job.warnings)
        pieces = self._stream_pieces(job, progress)
        return TranslationStream(pieces, source=job.source, target=job.target, model=self.model, progress=progress)

    def translate_many(
        self,
        texts: Iterable[str],
        target: str,
        source: str = AUTO,
        max_workers: int | None = None,
        *,
        features: Features | None = None,
    ) -> list[Translation]:
        """Translate several texts concurrently (`max_workers` requests at once); the answers keep their order.

        Every text is checked before anything is sent; the first failure stops the batch and is raised.
        """
        workers = self._batch_workers(texts, max_workers)
        jobs = [self._prepare(text, target, source, features, f"text #{n}") for n, text in enumerate(texts, 1)]
        return self._run(jobs, workers) if jobs else []

    # -- checking ---------------------------------------------------------------------------------------------------
    def _prepare(
        self, text: object, target: object, source: object, features: Features | None, label: str = "the text"
    ) -> _Job:
        if not isinstance(text, str):
            raise InvalidRequest(f"{label} must be a string, not {type(text).__name__}")
        if not text.strip():
            raise InvalidRequest(
                f"{label} is empty: there is nothing to translate", "give some text, or '-' to read standard input"
            )
        target_code, source_code = _languages(target, source)
        features = features or NO_FEATURES
        try:
            self.settings.profile.check(features)
        except FeatureError as unsupported:
            raise InvalidRequest(str(unsupported)) from None
        resolved = resolve_source(text, source_code)
        if features.whole:
            tokens = estimate_tokens(text)
            if tokens > self.settings.chunk_budget:
                raise InvalidRequest(
                    f"{label} takes about {tokens} tokens, and structured data goes to the model in one request of "
                    f"at most {self.settings.chunk_budget}",
                    "translate it in smaller parts",
                )
            plan = whole_text(text)
        else:
            plan = split_text(text, self.settings.chunk_budget)
        return _Job(source=resolved, target=target_code, plan=plan, text=text, features=features)

    # -- plain requests ---------------------------------------------------------------------------------------------
    def _run(self, jobs: list[_Job], max_workers: int) -> list[Translation]:
        start = self._clock()
        tasks = [(j, i) for j, job in enumerate(jobs) for i in range(len(job.plan.segments))]
        answers: dict[tuple[int, int], tuple[str, bool]] = {}
        finished = [start] * len(jobs)

        def work(task: tuple[int, int]) -> None:
            j, i = task
            answers[task] = self._segment(jobs[j], i)
            finished[j] = max(finished[j], self._clock())

        if len(tasks) == 1 or max_workers == 1:
            for task in tasks:  # no thread for the common case: Ctrl-C stops it at once
                work(task)
        else:
            run_concurrently(work, tasks, max_workers)
        results = []
        for j, job in enumerate(jobs):
            parts = [answers[(j, i)] for i in range(len(job.plan.segments))]
            translation = job.plan.join([job.finish(text) for text, _ in parts])
            results.append(
                Translation(
                    text=translation,
                    source=job.source,
                    target=job.target,
                    model=self.model,
                    elapsed=finished[j] - start,
                    segments=len(parts),
                    truncated=any(truncated for _, truncated in parts),
                    warnings=tuple(job.warnings(translation)),
                )
            )
        return results

    def _body(self, job: _Job, segment: str, *, stream: bool) -> dict[str, object]:
        profile = self.settings.profile
        prompt = build_prompt(segment, job.target, job.source, profile.family, job.features)
        return chat_request(
            prompt,
            self.model,
            source_text=segment,
            stream=stream,
            sampling=profile.sampling,
            max_tokens_cap=self.settings.max_tokens_cap,
        )

    def _segment(self, job: _Job, index: int) -> tuple[str, bool]:
        """Segment `index`'s translation; translated again line by line when the model changed its line count."""
        text, truncated = self._complete(job, job.plan.segments[index])
        if job.features.whole or job.plan.keeps_lines(index, text):
            return text, truncated
        lines = job.plan.line_by_line(index, self.settings.chunk_budget)
        parts = [self._complete(job, line) for line in lines.segments]
        return lines.join([part for part, _ in parts]), any(cut for _, cut in parts)

    def _complete(self, job: _Job, segment: str) -> tuple[str, bool]:
        """One segment's translation, and whether it stopped at max_tokens."""
        response = self.transport.request("POST", _CHAT, json_body=self._body(job, segment, stream=False))
        with response:
            if not response.ok:
                raise self._error_for(response)
            payload = self.transport.json_of(response)
        return self._answer_of(payload)

    def _answer_of(self, payload: object) -> tuple[str, bool]:
        try:
            choice = payload["choices"][0]  # type: ignore[index]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise UpstreamError(
                self.settings.base_url, 200, f"the answer is not a chat completion: {_short(payload)}"
            ) from None
        if not isinstance(content, str):
            raise UpstreamError(self.settings.base_url, 200, "the answer holds no text")
        return content, choice.get("finish_reason") == "length"

    def _error_for(self, response: requests.Response) -> HymtError:
        error = self.transport.error_for(response)
        if isinstance(error, UpstreamError) and error.status == 404:
            # vLLM answers 404 for an unknown model name; so does any server for a wrong base URL. Asking for the
            # model list tells the two apart and lets the message name the models that are there.
            try:
                served = self.models()
            except HymtError:
                return error
            if self.model not in served:
                return ModelNotFound(self.model, self.settings.base_url, served)
        return error

    # -- streams ----------------------------------------------------------------------------------------------------
    def _stream_pieces(self, job: _Job, progress: StreamProgress) -> Iterator[str]:
        start = self._clock()
        delivered = [0]  # characters passed on so far, for the message if a stream breaks

        def count() -> int:
            return delivered[0]

        for piece in job.plan.pieces:
            if isinstance(piece, str):
                delivered[0] += len(piece)
                yield piece
                continue
            if job.plan.line_count(piece) > 1:
                # Lines of a group come whole, once their line count is checked: no piece sent is taken back.
                text, truncated = self._segment(job, piece)
                progress.truncated |= truncated
                deltas: Iterable[str] = [text.strip()] if text.strip() else []
            else:
                deltas = _trimmed(self._stream_segment(job, job.plan.segments[piece], progress, count))
            for delta in deltas:
                delivered[0] += len(delta)
                yield delta
        progress.elapsed = self._clock() - start

    def _stream_segment(
        self, job: _Job, segment: str, progress: StreamProgress, delivered: Callable[[], int]
    ) -> Iterator[str]:
        url = self.settings.base_url
        response = self.transport.request("POST", _CHAT, json_body=self._body(job, segment, stream=True), stream=True)
        with response:  # closing it early (the caller stopped reading) ends the transfer
            if not response.ok:
                raise self._error_for(response)
            if response.headers.get("Content-Type", "").startswith("application/json"):
                # A server that ignores "stream" answers in one piece; take it as such.
                text, truncated = self._answer_of(self.transport.json_of(response))
                progress.truncated |= truncated
                yield text
                return
            complete = False
            for data in self.transport.events(response, delivered):
                try:
                    delta = chat_delta(data)
                except StreamProtocolError as error:
                    raise UpstreamError(url, None, _STREAM_PROBLEMS[error.kind].format(_short(error.detail))) from None
                if delta.done:
                    complete = True
                    break
                if delta.content:  # the role-only first chunk has none
                    yield delta.content
                if delta.finish_reason:
                    complete = True
                    progress.truncated |= delta.finish_reason == "length"
            if not complete:
                raise StreamInterrupted(url, delivered(), "it ended before the answer was complete")


def _languages(target: object, source: object) -> tuple[str, str]:
    """Canonical (target, source) codes; InvalidRequest for anything Hunyuan-MT cannot do."""
    if not isinstance(target, str) or not isinstance(source, str):
        raise InvalidRequest("languages are given as codes such as 'en' or 'zh-Hant'")
    if target.strip().lower() == AUTO:
        raise InvalidRequest("the target language cannot be 'auto'", "choose the language to translate into, e.g. en")
    try:
        target_code = normalize_code(target)
        source_code = normalize_code(source, allow_auto=True)
    except UnknownLanguageError as exc:
        raise InvalidRequest(str(exc), "codes are case-insensitive, e.g. en, zh-Hant, yue") from None
    if source_code == target_code:
        raise InvalidRequest(
            f"the source and the target language are both {target_code}: there is nothing to translate",
            "choose another target language, or leave the source on auto",
        )
    return target_code, source_code


def _trimmed(deltas: Iterable[str]) -> Iterator[str]:
    """The deltas without the answer's leading and trailing spaces (as TextPlan.join strips whole answers)."""
    started = False
    held = ""
    for delta in deltas:
        if not started:
            delta = delta.lstrip()
            if not delta:
                continue
            started = True
        body = delta.rstrip()
        if not body:
            held += delta
            continue
        yield held + body
        held = delta[len(body) :]


def _short(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
