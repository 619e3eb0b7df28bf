"""The translation client for a deployed hymt web app: its /api, for deployments where vLLM itself is not exposed.

The deployment does the work the OpenAI-compatible client does itself: it checks the request, detects the source,
builds the prompt, splits long texts and puts them back together. So this client sends each text whole, in one
request, and maps the deployment's error contract (`{"error": {"code", "message"}}`, docs/web.md) onto the SDK's
typed errors. Retries and the stream reader are the shared HttpTransport's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from hymt.core.features import FORMAT_TEXT, NO_FEATURES, Features
from hymt.core.languages import AUTO
from hymt.sdk import errors
from hymt.sdk.base import BaseClient, run_concurrently
from hymt.sdk.result import StreamProgress, Translation, TranslationStream
from hymt.sdk.settings import ENV_ACCESS_KEY, WebSettings
from hymt.sdk.transport import HttpTransport

_TRANSLATE = "api/translate"
_STREAM = "api/translate/stream"
_INFO = "api/info"
_LANGUAGES = "api/languages"

# What to do about each refusal of a request (422), by the deployment's error code.
_REQUEST_HINTS = {
    "empty_text": "give some text, or '-' to read standard input",
    "unknown_language": "codes are case-insensitive, e.g. en, zh-Hant, yue; 'hymt languages' lists them",
    "same_language": "choose another target language, or leave the source on auto",
    "invalid_text": "remove control characters and broken characters (lone surrogates) from the text",
    "too_many_parts": "translate the text in smaller parts, or join its short paragraphs",
    "invalid_request": "this hymt and the deployment disagree about the API: use the same hymt version as the "
    "deployment (its /api/info tells its version)",
}
# The deployment's refusals of a translation without a good access key (HYMT_ACCESS_KEYS_FILE).
_ACCESS_CODES = {"access_key_required", "invalid_access_key"}
# The status an error code is answered with, for errors that arrive inside a stream (as `event: error`).
_CODE_STATUS = {
    "empty_text": 422,
    "unknown_language": 422,
    "same_language": 422,
    "invalid_text": 422,
    "invalid_request": 422,
    "text_too_long": 413,
    "too_many_parts": 413,
    "too_many_requests": 429,
    "access_key_required": 401,
    "invalid_access_key": 401,
    "upstream_error": 502,
    "upstream_unreachable": 503,
    "upstream_not_ready": 503,
    "upstream_timeout": 504,
}


@dataclass(frozen=True)
class WebInfo:
    """What a deployment says about itself (GET /api/info)."""

    model: str
    profile: str  # "gpu", or "rehearsal" (a tiny stand-in model: answers are random text)
    max_chars: int  # the longest text one request may carry
    version: str  # the deployment's hymt version
    access_key_required: bool = False  # a private deployment: translations need an access key


class WebTranslationClient(BaseClient):
    """Translate through a deployed hymt web app (the `Translator` interface, like TranslationClient).

    >>> with WebTranslationClient(WebSettings("https://mt.example.com")) as client:
    ...     client.translate("Guten Morgen", "en").text

    Without settings, the URL comes from HYMT_WEB_URL (BaseClient has the rest).
    """

    settings_type = WebSettings
    settings: WebSettings

    def __init__(self, settings: WebSettings | None = None, **options: Any):
        self._info: WebInfo | None = None
        self._info_lock = threading.Lock()
        super().__init__(settings, **options)

    def _transport_options(self) -> dict[str, object]:
        return {"extra_headers": self.settings.headers, "client": self}

    @property
    def url(self) -> str:
        return self.settings.base_url

    @property
    def model(self) -> str:
        """The model the deployment serves (asked once, from /api/info)."""
        return self.info().model

    # -- the API ----------------------------------------------------------------------------------------------------
    def info(self) -> WebInfo:
        """The deployment's model, profile, text limit and version; asked once, then remembered."""
        with self._info_lock:
            if self._info is None:
                self._info = self._fetch_info()
            return self._info

    def languages(self) -> list[dict[str, object]]:
        """The languages the deployment offers: [{"code", "name_en", "name_zh", "native", "script", "rtl"}, ...]."""
        payload = self._get(_LANGUAGES)
        languages = payload.get("languages")
        if not isinstance(languages, list) or not all(isinstance(item, dict) and "code" in item for item in languages):
            raise errors.NotAHymtApp(self.url, 200, "/api/languages has no language list")
        return languages

    def translate(self, text: str, target: str, source: str = AUTO, *, features: Features | None = None) -> Translation:
        """Translate `text` into the language `target` (a code such as "en" or "zh-Hant"), in one request, with the
        prompted `features` (the deployment refuses one its model's family has not: InvalidRequest)."""
        body = self._body(text, target, source, features)
        self._check_length(text)
        start = self._clock()
        response = self.transport.request("POST", _TRANSLATE, json_body=body)
        with response:
            if not response.ok:
                raise self._error_for(response, text)
            payload = self._json(response, _TRANSLATE)
        return self._translation(payload, self._clock() - start, _TRANSLATE)

    def stream(
        self, text: str, target: str, source: str = AUTO, *, features: Features | None = None
    ) -> TranslationStream:
        """The translation as pieces of text, as the deployment produces them.

        Asks /api/info once per client (for `model`; its failures are raised here), then sends nothing until the
        stream is read. Connection failures, 429 and 503 are retried before the first piece arrives, never after: no
        piece is delivered twice.
        """
        body = self._body(text, target, source, features)
        model = self.model
        self._check_length(text)
        progress = StreamProgress()
        pieces = self._stream_pieces(body, text, progress)
        return TranslationStream(pieces, source=body["source"], target=body["target"], model=model, progress=progress)

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

        The first failure stops the batch and is raised (its message names the text).
        """
        workers = self._batch_workers(texts, max_workers)
        texts = list(texts)
        for n, text in enumerate(texts, 1):
            self._body(text, target, source, features, f"text #{n}")
        results: list[Translation | None] = [None] * len(texts)

        def work(index: int) -> None:
            try:
                results[index] = self.translate(texts[index], target, source, features=features)
            except errors.HymtError as error:
                if len(texts) > 1:
                    error.message = f"text #{index + 1}: {error.message}"
                    error.args = (error.message,)
                raise

        if len(texts) == 1 or workers == 1:
            for index in range(len(texts)):
                work(index)
        elif texts:
            run_concurrently(work, list(range(len(texts))), workers)
        return [result for result in results if result is not None]

    # -- requests ---------------------------------------------------------------------------------------------------
    def _body(
        self, text: object, target: object, source: object, features: Features | None, label: str = "the text"
    ) -> dict[str, Any]:
        """The request body. Only types are checked here: the deployment decides what it accepts (422 otherwise).
        Features are sent only when asked for, so a plain request reaches a deployment older than them unchanged."""
        if not isinstance(text, str):
            raise errors.InvalidRequest(f"{label} must be a string, not {type(text).__name__}")
        if not isinstance(target, str) or not isinstance(source, str):
            raise errors.InvalidRequest("languages are given as codes such as 'en' or 'zh-Hant'")
        body: dict[str, Any] = {"text": text, "target": target, "source": source}
        features = features or NO_FEATURES
        if features.formatted:
            raise errors.InvalidRequest(
                "the web API has no formatted (<sn>) translation", "ask the model server itself (--url) for it"
            )
        if features.glossary:
            body["glossary"] = [{"source": s, "target": t} for s, t in features.glossary]
        for name in ("context", "style"):
            if getattr(features, name):
                body[name] = getattr(features, name)
        if features.format != FORMAT_TEXT:
            body["format"] = features.format
        if features.delimiters:
            body["delimiters"] = True
        return body

    def _check_length(self, text: str) -> None:
        """Refuse a text over the deployment's limit without sending it, when the limit is known already."""
        info = self._info
        if info is not None and len(text) > info.max_chars:
            raise errors.TextTooLong(self.url, len(text), info.max_chars)

    def _get(self, path: str) -> dict[str, object]:
        response = self.transport.request("GET", path)
        with response:
            if not response.ok:
                raise self._error_for(response)
            return self._json(response, path)

    def _fetch_info(self) -> WebInfo:
        payload = self._get(_INFO)
        try:
            info = WebInfo(
                model=str(payload["model"]),
                profile=str(payload.get("profile", "")),
                max_chars=int(payload["max_chars"]),  # type: ignore[call-overload]
                version=str(payload.get("version", "")),
                access_key_required=payload.get("access_key_required") is True,
            )
        except (KeyError, TypeError, ValueError):
            raise errors.NotAHymtApp(self.url, 200, f"/api/info answered {_short(payload)}") from None
        return info

    def _json(self, response: requests.Response, path: str) -> dict[str, object]:
        try:
            payload = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
            raise errors.NotAHymtApp(self.url, response.status_code, f"/{path} answered {kind}, not JSON") from None
        if not isinstance(payload, dict):
            raise errors.NotAHymtApp(self.url, response.status_code, f"/{path} answered {_short(payload)}")
        return payload

    def _translation(self, payload: Mapping[str, object], elapsed: float, path: str) -> Translation:
        text, source, target, model = (payload.get(key) for key in ("translation", "source", "target", "model"))
        if not all(isinstance(value, str) for value in (text, source, target, model)):
            raise errors.NotAHymtApp(
                self.url, 200, f"/{path} answered something that is not a translation: {_short(payload)}"
            )
        warnings = payload.get("warnings", [])
        if not isinstance(warnings, list):
            warnings = [str(warnings)]
        return Translation(
            text=text,  # type: ignore[arg-type]
            source=source,  # type: ignore[arg-type]
            target=target,  # type: ignore[arg-type]
            model=model,  # type: ignore[arg-type]
            elapsed=elapsed,
            warnings=tuple(str(warning) for warning in warnings),
        )

    # -- streams ----------------------------------------------------------------------------------------------------
    def _stream_pieces(self, body: dict[str, str], text: str, progress: StreamProgress) -> Iterator[str]:
        start = self._clock()
        delivered = [0]  # characters passed on so far, for the message if the stream breaks
        response = self.transport.request("POST", _STREAM, json_body=body, stream=True)
        with response:  # closing it early (the caller stopped reading) ends the transfer; the deployment then stops
            if not response.ok:
                raise self._error_for(response, text)
            kind = response.headers.get("Content-Type", "")
            if not kind.startswith("text/event-stream"):
                raise errors.NotAHymtApp(
                    self.url, response.status_code, f"/{_STREAM} answered {kind or 'no content type'}"
                )
            for event in self.transport.named_events(response, lambda: delivered[0]):
                payload = self._event_payload(event.data)
                if event.name == "delta":
                    piece = payload.get("text")
                    if not isinstance(piece, str):
                        raise errors.UpstreamError(self.url, None, f"a stream piece without text: {_short(payload)}")
                    if piece:
                        delivered[0] += len(piece)
                        yield piece
                elif event.name == "done":
                    progress.elapsed = self._clock() - start
                    progress.result = self._translation(payload, progress.elapsed, _STREAM)
                    return
                elif event.name == "error":
                    raise self._stream_error(payload, delivered[0])
                # Other events are for newer clients; this one has nothing to do with them.
        raise errors.StreamInterrupted(self.url, delivered[0], "it ended before the translation was complete")

    def _event_payload(self, data: str) -> dict[str, object]:
        try:
            payload = json.loads(data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise errors.UpstreamError(self.url, None, f"the stream carried something unexpected: {_short(data)}")
        return payload

    def _stream_error(self, payload: Mapping[str, object], delivered: int) -> errors.HymtError:
        code, message = str(payload.get("code", "")), str(payload.get("message") or "no details")
        if delivered:
            # Part of the translation is out already: it broke off, whatever the cause (never retried).
            return errors.StreamInterrupted(self.url, delivered, f"the deployment reported: {message}")
        return self._error(_CODE_STATUS.get(code, 502), code, message, f"/{_STREAM}", None)

    # -- errors -----------------------------------------------------------------------------------------------------
    def _error_for(self, response: requests.Response, text: str | None = None, attempts: int = 1) -> errors.HymtError:
        """The typed error for an unsuccessful answer of the deployment (or of a proxy in front of it)."""
        status = response.status_code
        code, message = _gateway_error(response)
        path = response.url.removeprefix(self.url) if response.url else "/api"
        if status == 429:
            return HttpTransport.error_for(self.transport, response, attempts)  # RateLimited, with the Retry-After
        if message is None:
            detail = _short(response.text) or response.reason or "no details"
            return self._error(status, None, detail, path, text)
        return self._error(status, code, message, path, text)

    def _error(self, status: int, code: str | None, message: str, path: str, text: str | None) -> errors.HymtError:
        url = self.url
        if code in _ACCESS_CODES:
            given = self.settings.access_key is not None
            return errors.Unauthorized(
                url,
                key_given=given,
                message=f"the deployment at {url} "
                + (f"did not accept the access key ({status})" if given else f"needs an access key ({status})"),
                hint=f"pass the key its operator gave you with --access-key or {ENV_ACCESS_KEY} (WebSettings("
                "access_key=...)); it is not vLLM's HYMT_API_KEY",
            )
        if status in {401, 403}:
            return errors.Unauthorized(
                url,
                key_given=any(name.lower() == "authorization" for name in self.settings.headers),
                message=f"the deployment at {url} refused access ({status})",
                hint="put the credentials its proxy wants in the URL (https://user:password@host) or pass them as "
                "headers (WebSettings(headers=...))",
            )
        if status in {404, 405}:
            return errors.NotAHymtApp(url, status, f"{path} answered {status} ({message})")
        if code == "too_many_parts":
            return errors.InvalidRequest(f"the deployment refused the request: {message}", _REQUEST_HINTS[code])
        if status == 413 or code == "text_too_long":
            return errors.TextTooLong(url, len(text) if text is not None else 0, self._known_limit())
        if status == 422 or code in _REQUEST_HINTS:
            return errors.InvalidRequest(
                f"the deployment refused the request: {message}", _REQUEST_HINTS.get(code or "", "")
            )
        if status == 504 and code == "upstream_timeout":
            return errors.Timeout(url, None, "upstream", message)
        if code in {"upstream_unreachable", "upstream_not_ready"}:
            hint = "the deployment's model is loading or down: wait a minute and retry (its /readyz says when it is up)"
            return errors.UpstreamError(url, status, message, hint)
        if code == "upstream_error":
            hint = "the deployment's model server failed: retry later, or ask its operator to look at the logs"
            return errors.UpstreamError(url, status, message, hint)
        if code is None and status in {502, 503, 504}:
            # Not the app's own answer: a proxy in front of it (Caddy, a load balancer) could not reach the app.
            hint = "the deployment's web app does not answer its proxy: retry later, or ask its operator to check it"
            return errors.UpstreamError(url, status, message, hint)
        if code == "internal_error":
            hint = "the deployment's web app failed: retry, and tell its operator (the app's log has the details)"
            return errors.UpstreamError(url, status, message, hint)
        return errors.UpstreamError(url, status, message)

    def _known_limit(self) -> int | None:
        """The deployment's max_chars, for a 413's message (one small request if not known yet)."""
        try:
            return self.info().max_chars
        except errors.HymtError:
            return None


class _DeploymentTransport(HttpTransport):
    """The shared transport, reporting the answers it gives up on (429 and 503 after the retries) in the
    deployment's terms."""

    def __init__(self, *args: object, client: WebTranslationClient, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._client = client

    def error_for(self, response: requests.Response, attempts: int = 1) -> errors.HymtError:
        return self._client._error_for(response, attempts=attempts)

    def request(self, *args: object, **kwargs: object) -> requests.Response:
        try:
            return super().request(*args, **kwargs)  # type: ignore[arg-type]
        except errors.ServerUnreachable as error:
            error.hint = (
                "check the address (the one of the deployment's page, --web or HYMT_WEB_URL), that the deployment "
                "is up, and that no firewall blocks the way to it"
            )
            raise


def _gateway_error(response: requests.Response) -> tuple[str | None, str | None]:
    """(code, message) of the deployment's {"error": {"code", "message"}}; (None, None) for any other answer."""
    try:
        payload = response.json()
    except ValueError:
        return None, None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code")
        return (code if isinstance(code, str) else None), error["message"]
    return None, None


def _short(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


WebTranslationClient.transport_type = _DeploymentTransport
