"""Everything that can go wrong when translating, as exceptions that say what happened and what to do.

Every error is a `HymtError` with a one-line `message` (str(error)) and a `hint` telling the user what to try.
`exit_code` is what the CLI exits with: 2 for a request the user can fix before sending it, 1 for the rest. The
same types serve every client (an OpenAI-compatible server such as vLLM, or the project's own web gateway).
"""

from __future__ import annotations

from collections.abc import Sequence

from hymt.core.exit import ExitStatus

_URL_HINT = "set --url or HYMT_UPSTREAM_URL to the server's OpenAI-compatible base URL (it ends in /v1)"


class HymtError(Exception):
    """Base of every error the SDK raises."""

    exit_code = ExitStatus.FAILURE

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidRequest(HymtError):
    """The request cannot be sent as it is: unknown language, empty text, target equal to source, bad setting."""

    exit_code = ExitStatus.USAGE


class TextTooLong(InvalidRequest):
    """The text has more characters than the web deployment accepts in one request."""

    def __init__(self, url: str, length: int, limit: int | None):
        self.url = url
        self.length = length
        self.limit = limit
        if limit is None:
            message = f"the text ({length} characters) is longer than the deployment at {url} accepts"
            hint = "translate it in smaller parts (the deployment's /api/info tells its max_chars)"
        else:
            message = f"the text has {length} characters but the deployment at {url} accepts at most {limit}"
            hint = f"translate it in parts of at most {limit} characters, or ask the operator to raise HYMT_MAX_CHARS"
        super().__init__(message, hint)


class ServerUnreachable(HymtError):
    """No connection to the server (refused, unknown host, dropped before any answer), even after retries."""

    def __init__(self, url: str, reason: str, attempts: int = 1):
        tried = f" (tried {attempts} times)" if attempts > 1 else ""
        super().__init__(
            f"cannot reach the translation server at {url}: {reason}{tried}",
            "check that the server is running and answers (vLLM needs a few minutes to load the model), that an SSH "
            f"tunnel to it is open if you use one, or {_URL_HINT}",
        )
        self.url = url
        self.reason = reason


class Timeout(HymtError):
    """The server did not connect, answer, or go on streaming within the configured timeout; or (phase "upstream")
    a web deployment gave up waiting for its own model, within the deployment's timeouts rather than ours."""

    def __init__(self, url: str, seconds: float | None, phase: str, detail: str = ""):
        self.url = url
        self.seconds = seconds  # None for "upstream": the deployment's limit, not one this client set
        # "connect", "read" (waiting for an answer), "stream" (an answer stopped mid-way) or "upstream"
        self.phase = phase
        if phase == "upstream":
            super().__init__(
                f"the translation service at {url} gave up waiting for its model" + (f": {detail}" if detail else ""),
                "the model is busy or the text long: retry later or translate a shorter text (the deployment's "
                "HYMT_READ_TIMEOUT and HYMT_REQUEST_TIMEOUT decide this, not --timeout)",
            )
            return
        what = {
            "connect": "did not accept a connection",
            "read": "did not answer",
            "stream": "stopped sending the translation",
        }[phase]
        hint = (
            "check that the host is up and that no firewall drops the connection"
            if phase == "connect"
            else "the server may be overloaded or the text long: wait and retry, raise the timeout (--timeout), "
            "or use --stream to see the translation as it comes"
        )
        super().__init__(f"the translation server at {url} {what} within {seconds:g} s", hint)


class Unauthorized(HymtError):
    """The server wants an API key, or rejected the one given."""

    def __init__(self, url: str, key_given: bool, *, message: str = "", hint: str = ""):
        self.url = url
        self.key_given = key_given
        if not message:
            message = (
                f"the translation server at {url} rejected the API key"
                if key_given
                else f"the translation server at {url} needs an API key"
            )
        super().__init__(message, hint or "pass --api-key or set HYMT_API_KEY to the key the server was started with")


class ModelNotFound(HymtError):
    """The server does not serve a model of the configured name."""

    def __init__(self, model: str, url: str, available: Sequence[str]):
        self.model = model
        self.url = url
        self.available = tuple(available)
        if self.available:
            served = ", ".join(self.available)
            message = f"the server at {url} does not serve a model named {model!r}; it serves: {served}"
            hint = f"pass --model {self.available[0]} or set HYMT_SERVED_MODEL to one of the served names"
        else:
            message = f"the server at {url} does not serve a model named {model!r} and lists no models"
            hint = "check the server's --served-model-name, then pass --model or set HYMT_SERVED_MODEL to it"
        super().__init__(message, hint)


class RateLimited(HymtError):
    """The server kept answering 429 Too Many Requests."""

    def __init__(self, url: str, retry_after: float | None, attempts: int):
        self.url = url
        self.retry_after = retry_after
        wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
        super().__init__(
            f"the translation server at {url} is limiting requests (429 after {attempts} attempts{wait})",
            "wait a little and retry, or send fewer texts at once (lower max_workers)",
        )


class UpstreamError(HymtError):
    """The server answered with an error, or with something that is not a translation."""

    def __init__(self, url: str, status: int | None, detail: str, hint: str = ""):
        self.url = url
        self.status = status
        self.detail = detail
        where = f"the translation server at {url}"
        message = f"{where} answered {status}: {detail}" if status is not None else f"{where}: {detail}"
        if not hint:
            hint = _status_hint(status)
        super().__init__(message, hint)


class StreamInterrupted(UpstreamError):
    """A streamed answer broke off. Never retried: part of the translation was already delivered."""

    def __init__(self, url: str, delivered_chars: int, reason: str):
        self.delivered_chars = delivered_chars
        super().__init__(
            url,
            None,
            f"the translation stream broke off after {delivered_chars} characters ({reason})",
            "translate the text again; if this keeps happening, check the server's logs",
        )


class NotAHymtApp(UpstreamError):
    """The URL answers, but not as a hymt web deployment: a wrong address or path prefix, or another kind of server
    (vLLM's OpenAI-compatible API, for one, has no /api/translate)."""

    def __init__(self, url: str, status: int | None, detail: str):
        self.url = url
        self.status = status
        self.detail = detail
        hint = (
            "give the address of the deployment's translation page, e.g. https://mt.example.com (--web, HYMT_WEB_URL)"
        )
        if url.rstrip("/").endswith("/v1"):
            hint = "this looks like an OpenAI-compatible URL (vLLM's /v1): use --url (HYMT_UPSTREAM_URL) for it"
        HymtError.__init__(self, f"{url} is not a hymt web app: {detail}", hint)


def _status_hint(status: int | None) -> str:
    if status == 400:
        return (
            "the server refused the request; if it mentions the context length, the text is too long for the "
            "server's --max-model-len: split it or raise that limit"
        )
    if status == 404:
        return _URL_HINT
    if status == 503:
        return "the server is not ready (still loading the model, or its engine died): wait for /health, then retry"
    if status is not None and status >= 500:
        return "the server failed; check its logs (docker compose logs vllm) and retry"
    return "check the server's logs"
