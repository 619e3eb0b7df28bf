"""The FastAPI application: routes, error contract, the upstream client's lifetime and the page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from hymt import __version__
from hymt.core import catalogue
from hymt.core.languages import AUTO, LANGUAGES
from hymt.core.prompts import ModelFamily
from hymt_web.errors import GatewayError, error_response
from hymt_web.metrics import Metrics, MetricsMiddleware
from hymt_web.settings import Settings
from hymt_web.translate import StreamingTranslation, prepare, translate
from hymt_web.upstream import Upstream, make_client

log = logging.getLogger("hymt_web")

STATIC = files("hymt_web") / "static"
# Seconds a client is asked to wait when the in-flight cap is reached.
RETRY_AFTER_SECONDS = 2
# The page loads nothing from elsewhere (no CDN: users in mainland China and offline CI); the policy enforces it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class TranslateRequest(BaseModel):
    text: str
    target: str
    source: str = AUTO


class InFlight:
    """Admission control: at most `limit` translations at once; the next one is told to come back later (429)."""

    def __init__(self, limit: int, metrics: Metrics) -> None:
        self.limit = limit
        self.count = 0
        self.metrics = metrics

    def enter(self) -> None:
        # No await between the check and the increment: the event loop cannot interleave another request here.
        if self.count >= self.limit:
            raise GatewayError(
                429,
                "too_many_requests",
                f"The service is translating {self.limit} texts at once, its limit. "
                f"Try again in {RETRY_AFTER_SECONDS} seconds.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.count += 1
        self.metrics.in_flight.set(self.count)

    def leave(self) -> None:
        self.count -= 1
        self.metrics.in_flight.set(self.count)


class DeclaredBodyLimit:
    """Refuses a request whose declared size is far beyond the character limit, before reading a byte of it.

    The exact limit (characters of "text") is checked after parsing; this only keeps absurd bodies out of memory.
    Even fully escaped JSON needs at most 12 bytes per character (a surrogate pair as two \\uXXXX escapes).
    """

    def __init__(self, app: ASGIApp, max_chars: int) -> None:
        self.app = app
        self.max_chars = max_chars
        self.max_bytes = max_chars * 12 + 65536

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_bytes:
                message = f"The request is far larger than the limit of {self.max_chars} characters."
                await error_response(413, "text_too_long", message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class EventStreamResponse(StreamingResponse):
    """Server-sent events that stop the moment the client goes away, and always run `on_close` afterwards.

    Watching for the disconnect (rather than waiting for a write to fail) matters when the upstream is silent:
    the upstream request is cancelled at once instead of when its read timeout expires.
    """

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None]) -> None:
        # no-cache: proxies must not hold events back; X-Accel-Buffering: the same for nginx, should one be in front.
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream_then_stop() -> None:
                    with contextlib.suppress(OSError):  # the client went away mid-write
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream_then_stop)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
            self.on_close()


async def wait_for_disconnect(request: Request) -> None:
    """Returns when the client has gone away (the request body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings` (from the environment when None). Each app has its own client, metrics and limits."""
    settings = settings or Settings.from_env()
    metrics = Metrics()
    in_flight = InFlight(settings.max_in_flight, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with make_client(settings) as client:
            app.state.upstream = Upstream(client, settings, metrics)
            yield

    app = FastAPI(
        title="hymt web",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.in_flight = in_flight
    # Starlette runs the middleware added last first: metrics see every answer, the body limit's 413s included.
    app.add_middleware(DeclaredBodyLimit, max_chars=settings.max_chars)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    def upstream_of(request: Request) -> Upstream:
        return request.app.state.upstream

    # -- the error contract: every error is {"error": {"code", "message"}} in plain words -------------------------
    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", describe_validation_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: ("not_found", "There is nothing at this address."), 405: ("method_not_allowed", None)}
        code, message = codes.get(exc.status_code, ("http_error", None))
        return error_response(exc.status_code, code, message or str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong in the web app; its log has the details.")

    # -- the page ------------------------------------------------------------------------------------------------
    page_headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers=page_headers)

    app.mount("/static", StaticFiles(packages=[("hymt_web", "static")]), name="static")

    # -- the API -------------------------------------------------------------------------------------------------
    @app.get("/api/languages")
    async def languages() -> dict[str, object]:
        return {"languages": [lang.as_dict() for lang in LANGUAGES]}

    @app.get("/api/info")
    async def info() -> dict[str, object]:
        entry = catalogue.find_served(settings.served_model)
        return {
            "model": settings.served_model,
            # What the model catalogue knows of it (None for a model it does not list).
            "catalogue": {"model_id": entry.model_id, "family": entry.family, "status": entry.status}
            if entry
            else None,
            "prompt_family": ModelFamily.for_model(settings.served_model).value,
            "profile": settings.profile,
            "max_chars": settings.max_chars,
            "version": __version__,
        }

    @app.post("/api/translate")
    async def translate_text(body: TranslateRequest, request: Request) -> Response:
        job = prepare(settings, body.text, body.target, body.source)
        in_flight.enter()
        try:
            # A client that gives up frees its place at once: its upstream requests are cancelled.
            work = asyncio.ensure_future(translate(upstream_of(request), job))
            left = asyncio.ensure_future(wait_for_disconnect(request))
            try:
                await asyncio.wait({work, left}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                left.cancel()
                if not work.done():
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError, GatewayError):
                        await work
            if work.cancelled():
                # Nobody is listening any more; 499 (nginx's "client closed request") shows up in the metrics.
                return Response(status_code=499)
            return JSONResponse(work.result())
        finally:
            in_flight.leave()

    @app.post("/api/translate/stream")
    async def translate_stream(body: TranslateRequest, request: Request) -> Response:
        job = prepare(settings, body.text, body.target, body.source)
        in_flight.enter()
        streaming = StreamingTranslation(upstream_of(request), job)
        pieces = streaming.deltas()
        # Wait for the first piece before answering, so a model that is down or failing gets a real HTTP status.
        try:
            first: str | None = await anext(pieces, None)
        except BaseException:
            streaming.close()
            in_flight.leave()
            raise

        async def events() -> AsyncIterator[str]:
            try:
                if first is not None:
                    yield sse("delta", {"text": first})
                async for piece in pieces:
                    yield sse("delta", {"text": piece})
                yield sse("done", streaming.result())
            except GatewayError as error:
                yield sse("error", error.as_dict())

        def finished() -> None:
            streaming.close()
            in_flight.leave()

        return EventStreamResponse(events(), on_close=finished)

    # -- health and metrics (internal network only; the proxy does not publish /metrics) ------------------------
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        problem = await upstream_of(request).readiness()
        if problem is not None:
            return error_response(503, problem.code, problem.message)
        return JSONResponse({"status": "ready", "model": settings.served_model})

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def describe_validation_errors(problems: Any) -> str:
    """FastAPI's validation errors in one plain sentence, with an example of a good request."""
    said = []
    for problem in problems:
        location = [str(part) for part in problem.get("loc", ()) if part != "body"]
        field = location[0] if location else ""
        kind = problem.get("type", "")
        if kind == "json_invalid":
            said.append("the body is not valid JSON")
        elif kind == "missing" and field:
            said.append(f"'{field}' is missing")
        elif kind == "missing":
            said.append("the body is missing")
        elif kind == "string_type" and field:
            said.append(f"'{field}' must be a string")
        elif field:
            said.append(f"'{field}' is not valid ({problem.get('msg', kind)})")
        else:
            said.append("the body must be a JSON object")
    detail = "; ".join(dict.fromkeys(said)) or "the request is not valid"
    return f'Send JSON like {{"text": "Hello", "target": "zh"}}: {detail}.'
