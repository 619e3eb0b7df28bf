"""HTTP for the clients: requests with retries, HTTP failures as typed errors, streamed events read as they come.

Nothing here knows about translation or about OpenAI's payloads, so a client of another API (the project's own web
gateway) reuses it as it is.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from http.client import RemoteDisconnected

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from hymt import __version__
from hymt.core import sse
from hymt.sdk.errors import (
    HymtError,
    RateLimited,
    ServerUnreachable,
    StreamInterrupted,
    Timeout,
    Unauthorized,
    UpstreamError,
)
from hymt.sdk.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after

USER_AGENT = f"hymt/{__version__}"
_READ_SIZE = 8192


def new_session(pool_size: int = 10) -> requests.Session:
    """A session whose connection pool holds `pool_size` connections per host; retries are ours, not urllib3's."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, pool_size), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HttpTransport:
    """One server's base URL, credentials, timeouts and retry policy, over one `requests.Session`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 120.0),
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        pool_size: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.extra_headers = dict(extra_headers or {})
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._owns_session = session is None
        self.session = session if session is not None else new_session(pool_size)
        self._clock = clock

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def url_for(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def headers(self, *, stream: bool = False) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        headers.update(self.extra_headers)
        return headers

    # -- requests ---------------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json_body: object = None, stream: bool = False) -> requests.Response:
        """Send a request, retrying connection failures, 429 and 503 with backoff; returns any other answer.

        With stream=True the body is left unread: nothing has reached the caller yet, so retrying before this
        returns can never repeat part of an answer.
        """
        url = self.url_for(path)
        retry = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json_body,
                    headers=self.headers(stream=stream),
                    timeout=self.timeout,
                    stream=stream,
                )
            except requests.exceptions.ConnectTimeout:
                wait = self.retry.wait_before(retry)
                if wait is None:
                    raise Timeout(self.base_url, self.timeout[0], "connect") from None
            except requests.exceptions.ReadTimeout:
                # Not retried: the server may still be working on it, and a retry would double its load.
                raise Timeout(self.base_url, self.timeout[1], "read") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                wait = self.retry.wait_before(retry)
                if wait is None:
                    raise ServerUnreachable(self.base_url, connection_failure_reason(exc), retry + 1) from None
            except requests.exceptions.RequestException as exc:
                raise UpstreamError(self.base_url, None, f"the request failed: {exc}") from None
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                wait = self.retry.wait_before(retry, parse_retry_after(response.headers.get("Retry-After")))
                if wait is None:
                    with response:
                        raise self.error_for(response, attempts=retry + 1)
                response.close()
            self.retry.sleep(wait)
            retry += 1

    def get_json(self, path: str) -> object:
        response = self.request("GET", path)
        with response:
            if not response.ok:
                raise self.error_for(response)
            return self.json_of(response)

    def json_of(self, response: requests.Response) -> object:
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(
                self.base_url, response.status_code, f"the answer is not JSON: {_snippet(response.text)}"
            ) from None

    # -- errors -----------------------------------------------------------------------------------------------------
    def error_for(self, response: requests.Response, attempts: int = 1) -> HymtError:
        """The typed error for an unsuccessful answer (reads its body); `attempts`: how many were made."""
        status = response.status_code
        detail = error_detail(response)
        if status in {401, 403}:
            return Unauthorized(self.base_url, key_given=bool(self.api_key))
        if status == 429:
            return RateLimited(self.base_url, parse_retry_after(response.headers.get("Retry-After")), attempts)
        return UpstreamError(self.base_url, status, detail)

    # -- streams ----------------------------------------------------------------------------------------------------
    def events(self, response: requests.Response, delivered: Callable[[], int]) -> Iterator[str]:
        """The data of each server-sent event of `response`, as it arrives.

        The read timeout applies between pieces of data: comment lines (keep-alives) prove the connection lives but
        not that the answer progresses, so they do not reset it. `delivered` tells how much of the answer the
        caller already passed on, for the error message when the stream breaks.
        """
        for event in self.named_events(response, delivered):
            yield event.data

    def named_events(self, response: requests.Response, delivered: Callable[[], int]) -> Iterator[sse.Event]:
        """Like `events`, with each event's name (for servers that name them, as the web gateway does)."""
        read_timeout = self.timeout[1]
        last_progress = self._clock()
        try:
            for event in sse.iter_named_events(sse.iter_lines(raw_chunks(response))):
                if event is None:
                    if self._clock() - last_progress > read_timeout:
                        raise Timeout(self.base_url, read_timeout, "stream")
                    continue
                last_progress = self._clock()
                yield event
        except urllib3.exceptions.ReadTimeoutError:
            raise Timeout(self.base_url, read_timeout, "stream") from None
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
            raise StreamInterrupted(self.base_url, delivered(), connection_failure_reason(exc)) from None


def raw_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body's bytes as soon as they arrive (iter_content would wait for whole blocks on unchunked bodies)."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # urllib3 1.x
        yield from raw.stream(1, decode_content=True)
        return
    while True:
        chunk = read1(_READ_SIZE, decode_content=True)  # a proxy may compress the stream
        if not chunk:
            return
        yield chunk


def error_detail(response: requests.Response) -> str:
    """The server's own words for an error: OpenAI's/vLLM's {"error": {"message"}}, FastAPI's {"detail"}, or text."""
    try:
        payload = response.json()
    except ValueError:
        return _snippet(response.text) or response.reason or "no details"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for value in (error, payload.get("message"), payload.get("detail")):
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:  # FastAPI validation errors
                return "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in value)
    return _snippet(response.text)


def connection_failure_reason(exc: BaseException) -> str:
    """A few plain words for why a connection failed, from the exception and everything it wraps."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused (nothing listens on that port)"
        if isinstance(current, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(current, RemoteDisconnected | ConnectionResetError):
            return "the server closed the connection without an answer"
        if isinstance(current, urllib3.exceptions.SSLError):
            return f"TLS failed ({current})"
        if isinstance(current, OSError) and current.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH}:
            return "no route to the host"
        for inner in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(inner, BaseException):
                queue.append(inner)
    return _snippet(str(exc)) or type(exc).__name__


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
