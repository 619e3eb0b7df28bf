"""The FastAPI application: routes, error contract, the upstream client's lifetime and the page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hymt import __version__
from hymt.core import catalogue
from hymt.core.features import (
    FAMILIES_WITH,
    FORMATS,
    MAX_CONTEXT_CHARS,
    MAX_GLOSSARY_TERMS,
    MAX_STYLE_CHARS,
    MAX_TERM_CHARS,
    Feature,
    Features,
)
from hymt.core.languages import AUTO, LANGUAGES
from hymt.core.tokens import TokenCounter, load_counter
from hymt_web import compat, errors
from hymt_web.access import Gate
from hymt_web.admission import Admission, client_of
from hymt_web.errors import GatewayError, error_response
from hymt_web.metrics import Metrics, MetricsMiddleware
from hymt_web.settings import Settings
from hymt_web.shared import SharedAdmission, collected
from hymt_web.translate import (
    Job,
    StreamingTranslation,
    deployment_glossary,
    detect,
    make_features,
    prepare,
    translate,
)
from hymt_web.upstream import Upstream, make_client

T = TypeVar("T")
STATIC = files("hymt_web") / "static"
# The page loads nothing from elsewhere (no CDN: users in mainland China and offline CI); the policy enforces it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


_CODES = [lang.code for lang in LANGUAGES]
# The prompted features the translation routes take, by their field names (HY-MT1.5's <sn> form is the SDK's only).
API_FEATURES = (Feature.GLOSSARY, Feature.CONTEXT, Feature.STYLE, Feature.FORMAT, Feature.DELIMITERS)
_FEATURES = "Only for the model families whose published prompts have it (GET /api/info: prompt_family; docs/web.md)"


class GlossaryTerm(BaseModel):
    """A term and the translation the model is to use for it."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TERM_CHARS})
    target: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TERM_CHARS})


class TranslateRequest(BaseModel):
    """The body of both translation routes. Unknown fields are refused (a typo such as "targt" is not ignored).

    The schema lists what the gateway accepts: `maxLength` of text is set per app from HYMT_MAX_CHARS (see
    create_app's openapi); codes are matched case-insensitively, and the schema names their canonical spelling.
    """

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="The text to translate: UTF-8, no control characters but tabs and line breaks.",
        json_schema_extra={"minLength": 1},
    )
    target: str = Field(
        description="The target language's code (GET /api/languages).", json_schema_extra={"enum": _CODES}
    )
    source: str = Field(
        AUTO,
        description="The source language's code, or 'auto' to detect it.",
        json_schema_extra={"enum": [AUTO, *_CODES]},
    )
    # The prompted features (hymt.core.features): at most one per request; the limits are checked with the features.
    glossary: list[GlossaryTerm] = Field(
        default_factory=list,
        description=f"Terms to translate as given. {_FEATURES}.",
        json_schema_extra={"maxItems": MAX_GLOSSARY_TERMS},
    )
    context: str = Field(
        "",
        description=f"Text the translation takes into account, not translated itself. {_FEATURES}.",
        json_schema_extra={"maxLength": MAX_CONTEXT_CHARS},
    )
    style: str = Field(
        "",
        description=f"The style the translation must have. {_FEATURES}.",
        json_schema_extra={"maxLength": MAX_STYLE_CHARS},
    )
    format: str = Field(
        "text",
        description=f"Structured data: only its user-visible text is translated (not text). {_FEATURES}. The "
        "translation's placeholders and structure are checked against the text's in every format; differences "
        "come back as warnings.",
        json_schema_extra={"enum": list(FORMATS)},
    )
    delimiters: bool = Field(False, description=f"Keep the text's delimiters, their number and places. {_FEATURES}.")
    glossary_id: str = Field(
        "",
        description="A glossary defined in the deployment (hymt_glossaries; docs/compat.md), instead of glossary: its "
        f"terms, for its language pair, with the source given. {_FEATURES}.",
        json_schema_extra={"maxLength": 64},
    )

    def features(self, settings: Settings) -> Features:
        glossary = [(term.source, term.target) for term in self.glossary]
        if self.glossary_id:
            if glossary:
                raise GatewayError(
                    422, "invalid_features", "Give glossary or glossary_id, not both: glossary_id names a glossary."
                )
            glossary = list(deployment_glossary(settings, self.glossary_id, self.source, self.target).glossary)
        return make_features(glossary, self.context, self.style, self.format, self.delimiters)


class DetectRequest(BaseModel):
    """The body of /api/detect: the text whose language a translation with source 'auto' would take."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="The text to look at: UTF-8, no control characters but tabs and line breaks.",
        json_schema_extra={"minLength": 1},
    )


class ClientLeft(Exception):
    """The client went away before its answer was ready."""


class _BodyTooLarge(StarletteHTTPException):
    pass


class BodyLimit:
    """Refuses a body far beyond the character limit: at once when its declared size says so, else as soon as more
    than that has arrived (a chunked upload), so an endless body never fills the memory.

    The exact limit (characters of "text") is checked after parsing; this only keeps absurd bodies out of memory.
    Even fully escaped JSON needs at most 12 bytes per character (a surrogate pair as two \\uXXXX escapes).
    """

    def __init__(self, app: ASGIApp, max_chars: int) -> None:
        self.app = app
        self.max_chars = max_chars
        self.max_bytes = max_chars * 12 + 65536
        self.message = f"The request is far larger than the limit of {max_chars} characters. Send less text."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, "text_too_long", self.message)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI passes an HTTPException raised while it reads the body on to the error handlers.
                    raise _BodyTooLarge(413, self.message)
            return message

        await self.app(scope, counted, send)


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


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """The result of `work`, unless the client goes away first: then `work` is cancelled (its upstream requests with
    it) and ClientLeft raised."""
    task = asyncio.ensure_future(work)
    left = asyncio.ensure_future(wait_for_disconnect(request))
    try:
        await asyncio.wait({task, left}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        left.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, GatewayError):
                await task
    if task.cancelled():
        raise ClientLeft
    return task.result()


EXAMPLE = '{"text": "Hello", "target": "zh"}'
DETECT_EXAMPLE = '{"text": "Hello"}'
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
# One server-sent event of the stream; its data is JSON: {"text"} (delta), a Translation (done) or {code, message}.
EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {"event": {"enum": ["delta", "done", "error"]}, "data": {"type": "string"}},
}
TRANSLATION_SCHEMA = {
    "type": "object",
    "required": ["translation", "source", "target", "model", "elapsed_ms"],
    "properties": {
        "translation": {"type": "string"},
        "source": {"type": "string", "description": "the given or detected code; 'auto' when detection was unsure"},
        "target": {"type": "string"},
        "model": {"type": "string"},
        "elapsed_ms": {"type": "integer", "minimum": 0},
        "output_tokens": {
            "type": "integer",
            "minimum": 0,
            "description": "the plain API's answer: the model's output tokens as the model server counted them "
            "(absent when it sent no count)",
        },
        "pieces": {
            "type": "integer",
            "minimum": 0,
            "description": "the stream's done event: the model server's pieces streamed (vLLM: a token each)",
        },
        "warnings": {
            "type": "array",
            "items": {"type": "string"},
            "description": "placeholders, keys or tags the translation did not keep (absent when none)",
        },
    },
}
DETECTION_SCHEMA = {
    "type": "object",
    "required": ["source", "name"],
    "properties": {
        "source": {"type": "string", "description": "the detected code; 'auto' when detection is unsure"},
        "name": {"type": ["string", "null"], "description": "the language's English name; null when unsure"},
    },
}
# With HYMT_ACCESS_KEYS_FILE set, the translation routes take either (hymt_web/access.py).
SECURITY_SCHEMES = {
    "accessKey": {"type": "http", "scheme": "bearer"},
    "accessKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
TRANSLATE_ERRORS = {
    str(status): {"description": description, "content": _ERROR_BODY}
    for status, description in {
        400: "The body could not be read (not UTF-8).",
        401: "This deployment needs an access key (Authorization: Bearer, or X-API-Key), and none or a wrong one "
        "was sent.",
        413: "The text is longer than maxLength, or would take more requests to the model than one translation may.",
        422: "The body is not a translation request (see the message).",
        429: "A limit on requests or translations at once was reached: wait for Retry-After seconds.",
        502: "The model server failed.",
        503: "The model server cannot be reached or is not ready.",
        504: "The model server took too long.",
    }.items()
}


# What /api/detect answers besides 200: the text checks of a translation, access and rate (no model is involved).
DETECT_ERRORS = {
    **{status: TRANSLATE_ERRORS[status] for status in ("400", "401", "429")},
    "413": {"description": "The text is longer than maxLength.", "content": _ERROR_BODY},
    "422": {
        "description": "The body is not a detection request, or its text is empty or not text.",
        "content": _ERROR_BODY,
    },
}


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(
    settings: Settings | None = None, tokens: TokenCounter | None = None, shared: Path | None = None
) -> FastAPI:
    """The app for `settings` (from the environment when None). Each app has its own client, metrics and limits.

    `tokens` counts a text's tokens for planning requests: by default the model's tokenizer in
    HYMT_TOKENIZER_DIR when it has one (TokenizerError when its file is damaged), else the estimate. `shared`: the
    directory of the store and metrics of several workers (hymt_web/shared.py), whose limits and /metrics the app
    shares; None, everything in this process."""
    settings = settings or Settings.from_env()
    tokens = tokens or load_counter(settings.tokenizer_dir)
    count = tokens.count if tokens.source == "tokenizer" else None
    metrics = Metrics()
    # Detection has allowances of its own at the same rate: the page asks for it before each translation from
    # "auto", which must not halve what a client may translate; it is still bounded, as it costs CPU (milliseconds).
    if shared is None:
        admission, detection = Admission(settings, metrics), Admission(settings, metrics)
    else:
        admission = SharedAdmission(settings, metrics, shared, scope="translate")
        detection = SharedAdmission(settings, metrics, shared, scope="detect")
    gate = Gate(settings.access_keys, admission.check_rate)

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
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.admission = admission
    app.state.tokens = tokens
    # Starlette runs the middleware added last first: the client's address is settled before anything counts it,
    # and the metrics see every answer, the body limit's 413s included.
    app.add_middleware(BodyLimit, max_chars=settings.max_chars)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, with the limits of this app's settings and every answer of the translation routes."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema["components"]["schemas"]["TranslateRequest"]["properties"]["text"]["maxLength"] = settings.max_chars
            for route in ("/api/translate", "/api/translate/stream"):
                schema["paths"][route]["post"]["responses"].update(TRANSLATE_ERRORS)
            schema["paths"]["/api/detect"]["post"]["responses"].update(DETECT_ERRORS)
            schema["paths"]["/api/detect"]["post"]["responses"]["200"] = {
                "description": "The language the text is in, as a translation with source 'auto' would take it.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detection"}}},
            }
            schema["components"]["schemas"]["DetectRequest"]["properties"]["text"]["maxLength"] = settings.max_chars
            schema["paths"]["/api/translate"]["post"]["responses"]["200"] = {
                "description": "The translation.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Translation"}}},
            }
            schema["paths"]["/api/translate/stream"]["post"]["responses"]["200"] = {
                "description": "Server-sent events: `delta` {text} per piece, then `done` (a Translation) or `error`.",
                "content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
            }
            if gate.required:
                schema["components"]["securitySchemes"] = SECURITY_SCHEMES
                for route in ("/api/translate", "/api/translate/stream", "/api/detect"):
                    schema["paths"][route]["post"]["security"] = [{name: []} for name in SECURITY_SCHEMES]
            schema["components"]["schemas"]["Error"] = ERROR_SCHEMA
            schema["components"]["schemas"]["Translation"] = TRANSLATION_SCHEMA
            schema["components"]["schemas"]["Detection"] = DETECTION_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    def upstream_of(request: Request) -> Upstream:
        return request.app.state.upstream

    # -- the error contract: every error is {"error": {"code", "message"}} in plain words -------------------------
    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(ClientLeft)
    async def client_left(_request: Request, _exc: ClientLeft) -> Response:
        # Nobody is listening any more; 499 (nginx's "client closed request") shows up in the metrics.
        return Response(status_code=499)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        body, example = request_body_of(request.url.path)
        return error_response(422, "invalid_request", describe_validation_errors(exc.errors(), body, example))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        _body, example = request_body_of(request.url.path)
        codes = {
            400: ("invalid_request", f"The body could not be read: send UTF-8 JSON like {example}."),
            404: ("not_found", "There is nothing at this address."),
            405: ("method_not_allowed", None),
            413: ("text_too_long", None),
        }
        code, message = codes.get(exc.status_code, ("http_error", None))
        return error_response(exc.status_code, code, message or str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return errors.internal(exc).response()

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
        profile = settings.model_profile
        return {
            "model": settings.served_model,
            # What the model catalogue knows of it (None for a model it does not list).
            "catalogue": {"model_id": entry.model_id, "family": entry.family, "status": entry.status}
            if entry
            else None,
            "prompt_family": profile.family.value,
            # How it was settled: the catalogue's, HYMT_MODEL_FAMILY's, or the default for an unknown name.
            "prompt_family_from": profile.source,
            # Each feature field: whether this model is sent it, and the families whose prompts have it.
            "features": {
                feature.value: {"available": profile.supports(feature), "families": list(FAMILIES_WITH[feature])}
                for feature in API_FEATURES
            },
            "profile": settings.profile,
            "max_chars": settings.max_chars,
            # How requests are sized: with the model's own tokenizer, or the cautious estimate.
            "token_count": tokens.source,
            "access_key_required": gate.required,
            "version": __version__,
        }

    def admit(body: TranslateRequest, request: Request) -> tuple[str, Job]:
        """Who asks (their key's label or address), within their rate, a checked request, and a place taken: the
        caller must give the place back (admission.leave) when the translation ends."""
        client = gate.client(request, client_of(request.scope))
        admission.check_rate(client)
        job = prepare(settings, body.text, body.target, body.source, count=count, features=body.features(settings))
        admission.enter(client)
        return client, job

    @app.post("/api/detect")
    async def detect_language(body: DetectRequest, request: Request) -> dict[str, str | None]:
        """The language of a text as a translation from "auto" would detect it: the page asks before translating,
        and switches the target when it is the text's own language instead of sending a same-language request."""
        detection.check_rate(gate.client(request, client_of(request.scope)))
        return detect(settings, body.text)

    @app.post("/api/translate")
    async def translate_text(body: TranslateRequest, request: Request) -> Response:
        client, job = admit(body, request)
        try:
            return JSONResponse(await unless_client_leaves(request, translate(upstream_of(request), job)))
        finally:
            admission.leave(client)

    @app.post("/api/translate/stream")
    async def translate_stream(body: TranslateRequest, request: Request) -> Response:
        client, job = admit(body, request)
        streaming = StreamingTranslation(upstream_of(request), job)
        pieces = streaming.deltas()
        # Wait for the first piece before answering, so a model that is down or failing gets a real HTTP status;
        # a client that leaves meanwhile frees its place and cancels its upstream requests at once.
        try:
            first = await unless_client_leaves(request, _first(pieces))
        except BaseException:
            streaming.close()
            admission.leave(client)
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
            admission.leave(client)

        return EventStreamResponse(events(), on_close=finished)

    # DeepL's and LibreTranslate's APIs, when HYMT_COMPAT_APIS names them (hymt_web/compat).
    compat.register(app, compat.Compat(settings, gate, admission, metrics, count, unless_client_leaves))

    # -- health and metrics (internal network only; the proxy does not publish /metrics) ------------------------
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        problem = await upstream_of(request).readiness()
        if problem is not None:
            retry = str(math.ceil(settings.ready_probe_interval))
            return error_response(503, problem.code, problem.message, headers={"Retry-After": retry})
        return JSONResponse({"status": "ready", "model": settings.served_model})

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page() -> Response:
        registry = metrics.registry if shared is None else collected(shared)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _first(pieces: AsyncIterator[str]) -> str | None:
    return await anext(pieces, None)


def request_body_of(path: str) -> tuple[type[BaseModel], str]:
    """The body a route takes, and an example of a good one: for saying what a bad request should have been."""
    if path == "/api/detect":
        return DetectRequest, DETECT_EXAMPLE
    return TranslateRequest, EXAMPLE


def describe_validation_errors(problems: Any, body: type[BaseModel] = TranslateRequest, example: str = EXAMPLE) -> str:
    """FastAPI's validation errors in one plain sentence, with an example of a good request."""
    said = []
    for problem in problems:
        location = [part for part in problem.get("loc", ()) if part != "body"]
        # A glossary term's field by its place: glossary[0].target.
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
        model = GlossaryTerm if len(location) > 1 else body
        kind = problem.get("type", "")
        if kind == "json_invalid":
            said.append("the body is not valid JSON")
        elif kind == "missing" and field:
            said.append(f"'{field}' is missing")
        elif kind == "missing":
            said.append("the body is missing")
        elif kind == "extra_forbidden" and field:
            said.append(f"'{field}' is not a field (send only {', '.join(model.model_fields)})")
        elif kind == "string_type" and field:
            said.append(f"'{field}' must be a string")
        elif field:
            said.append(f"'{field}' is not valid ({problem.get('msg', kind)})")
        else:
            said.append("the body must be a JSON object")
    detail = "; ".join(dict.fromkeys(said)) or "the request is not valid"
    return f"Send JSON like {example}: {detail}."
