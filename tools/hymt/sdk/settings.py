"""Where the translation server is and how to talk to it: immutable, validated settings objects, one for an
OpenAI-compatible server (ClientSettings) and one for a deployed web app (WebSettings)."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import unquote, urlsplit, urlunsplit

from hymt.core.chunking import DEFAULT_BUDGET
from hymt.core.prompts import MAX_TOKENS_CAP, ModelFamily, ModelProfile, resolve_model
from hymt.sdk.errors import InvalidRequest

# The same variable names the web app reads, so one environment configures both.
ENV_URL = "HYMT_UPSTREAM_URL"
ENV_API_KEY = "HYMT_API_KEY"
ENV_MODEL = "HYMT_SERVED_MODEL"

# Read only by clients (the web app never reads it), so it can sit in the same environment as the three above.
ENV_WEB_URL = "HYMT_WEB_URL"
# The access key of a private web deployment (its HYMT_ACCESS_KEYS_FILE lists the key's digest); not vLLM's key.
ENV_ACCESS_KEY = "HYMT_ACCESS_KEY"

DEFAULT_URL = "http://127.0.0.1:8000/v1"
WEB_URL_EXAMPLE = "https://mt.example.com"
# The web app gives up on a translation after HYMT_REQUEST_TIMEOUT (300 s by default) and answers 504, saying so.
# Waiting a little longer than that lets its answer arrive before this client gives up.
DEFAULT_WEB_READ_TIMEOUT = 330.0
DEFAULT_MODEL = "Hunyuan-MT-7B"


class _Timeouts:
    """What both settings objects offer: their timeouts as `requests` takes them, and changed copies."""

    connect_timeout: float
    read_timeout: float

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) as `requests` takes them."""
        return (self.connect_timeout, self.read_timeout)

    def replace(self, **changes: object) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class ClientSettings(_Timeouts):
    """How to reach an OpenAI-compatible translation server. Invalid values raise InvalidRequest at once."""

    base_url: str = DEFAULT_URL
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    # The prompt family. None: the model catalogue's for a name it knows (hymt.core.prompts.resolve_model); set it
    # when a served name hides the family (e.g. --served-model-name translator for an HY-MT1.5 model).
    family: ModelFamily | None = None
    connect_timeout: float = 5.0
    # Longest wait for an answer to start, and, when streaming, for the next piece of it.
    read_timeout: float = 120.0
    # Retries after the first attempt, on connection errors, 429 and 503 (never once a stream has started).
    retries: int = 3
    backoff_base: float = 0.5  # first retry waits about this long, doubling each time ...
    backoff_max: float = 10.0  # ... up to this
    max_retry_after: float = 60.0  # a 429's Retry-After longer than this is not waited for
    max_workers: int = 4  # requests in flight at once (segments of a long text, or texts of a batch)
    chunk_budget: int = DEFAULT_BUDGET  # most input tokens in one request (see core.chunking)
    max_tokens_cap: int = MAX_TOKENS_CAP

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; normalise once here
        set_(
            self,
            "base_url",
            _check_url(
                self.base_url,
                f"give the OpenAI-compatible base URL, such as {DEFAULT_URL}, with --url or HYMT_UPSTREAM_URL",
                DEFAULT_URL,
            ),
        )
        set_(self, "api_key", (self.api_key or "").strip() or None)
        model = (self.model or "").strip()
        if not model:
            raise InvalidRequest(
                "the model name is empty", "pass --model or set HYMT_SERVED_MODEL to the served model name"
            )
        set_(self, "model", model)
        if isinstance(self.family, str) and not isinstance(self.family, ModelFamily):
            try:
                set_(self, "family", ModelFamily.parse(self.family))
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from None
        try:
            resolve_model(model, self.family)
        except ValueError as exc:
            raise InvalidRequest(
                str(exc), "--model-family is only for served names the catalogue does not know"
            ) from None
        _check_numbers(
            self,
            ("connect_timeout", "read_timeout", "backoff_base", "backoff_max", "max_retry_after"),
            (("retries", 0), ("max_workers", 1), ("chunk_budget", 1), ("max_tokens_cap", 1)),
        )

    @property
    def profile(self) -> ModelProfile:
        """The model's prompt family and sampling: the catalogue's, the one set, or the default (resolve_model)."""
        return resolve_model(self.model, self.family)

    @property
    def prompt_family(self) -> ModelFamily:
        return self.profile.family

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ClientSettings:
        """Settings from HYMT_UPSTREAM_URL, HYMT_API_KEY and HYMT_SERVED_MODEL, then the defaults.

        Keyword overrides win over the environment; an override of None means "not given".
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field_name, variable in (("base_url", ENV_URL), ("api_key", ENV_API_KEY), ("model", ENV_MODEL)):
            if env.get(variable, "").strip():
                values[field_name] = env[variable].strip()
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class WebSettings(_Timeouts):
    """How to reach a deployed hymt web app (its /api), e.g. a public deployment where vLLM itself is not exposed.

    `base_url` is the address of the deployment's translation page: https://mt.example.com, http://203.0.113.7:8088,
    or with a path prefix when a proxy serves the app under one (https://example.com/mt). A trailing slash or
    "/api" is dropped. Credentials in it (https://user:password@mt.example.com) become an HTTP basic-auth header and
    are removed from the URL, so messages never show them. `headers` are sent with every request (e.g. the
    authorization a proxy in front of the deployment wants). `access_key` is the key of a private deployment (one
    whose web app has HYMT_ACCESS_KEYS_FILE): sent as "Authorization: Bearer", or as X-API-Key when the Authorization
    header is taken (credentials for a proxy in front). The deployment chooses the model, the prompt, the chunking
    and the text limit; vLLM's API key is the deployment's business.
    """

    base_url: str
    # May hold credentials: left out of repr (and of hash: a dict has none).
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    access_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    # Longest wait for an answer to start, and, when streaming, for the next piece of it.
    read_timeout: float = DEFAULT_WEB_READ_TIMEOUT
    retries: int = 3  # on connection errors, 429 and 503 (never once a stream has started)
    backoff_base: float = 0.5
    backoff_max: float = 10.0
    max_retry_after: float = 60.0
    max_workers: int = 4  # texts of a batch in flight at once (the deployment splits long texts itself)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        hint = f"give the address of the deployment's page, such as {WEB_URL_EXAMPLE}, with --web or {ENV_WEB_URL}"
        url = _check_url(self.base_url, hint, WEB_URL_EXAMPLE)
        headers = _check_headers(self.headers)
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.username is not None or parts.password is not None:
            if any(name.lower() == "authorization" for name in headers):
                raise InvalidRequest(
                    "credentials are given twice: in the URL and as an Authorization header", "keep one of them"
                )
            pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
            netloc = netloc.rpartition("@")[2]
        path = parts.path.rstrip("/").removesuffix("/api")  # the API's own address, pasted for the deployment's
        set_(self, "base_url", urlunsplit((parts.scheme, netloc, path, "", "")))
        set_(self, "access_key", _with_access_key(headers, self.access_key))
        set_(self, "headers", headers)
        _check_numbers(
            self,
            ("connect_timeout", "read_timeout", "backoff_base", "backoff_max", "max_retry_after"),
            (("retries", 0), ("max_workers", 1)),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> WebSettings:
        """Settings from HYMT_WEB_URL and HYMT_ACCESS_KEY; keyword overrides win (None means "not given"). A URL is
        required."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field_name, variable in (("base_url", ENV_WEB_URL), ("access_key", ENV_ACCESS_KEY)):
            if env.get(variable, "").strip():
                values[field_name] = env[variable].strip()
        values.update({key: value for key, value in overrides.items() if value is not None})
        if "base_url" not in values:
            raise InvalidRequest(
                "no web deployment to talk to",
                f"pass --web or set {ENV_WEB_URL} to the address of its translation page, e.g. {WEB_URL_EXAMPLE}",
            )
        return cls(**values)  # type: ignore[arg-type]


def _check_url(url: str, hint: str, example: str) -> str:
    cleaned = (url or "").strip().rstrip("/") if isinstance(url, str) else ""
    parts = urlsplit(cleaned)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidRequest(f"{_without_password(str(url))!r} is not a server URL", hint)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidRequest(
            f"the server URL {_without_password(url)!r} has an invalid port", f"use e.g. {example}"
        ) from None
    if parts.query or parts.fragment:
        raise InvalidRequest(
            f"the server URL {_without_password(url)!r} must not have a query or fragment", f"use e.g. {example}"
        )
    return cleaned


def _without_password(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token


def _check_headers(headers: object) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise InvalidRequest("headers must be a mapping of header names to values")
    checked = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise InvalidRequest(f"{name!r} is not an HTTP header name")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise InvalidRequest(f"the value of the {name} header must be one line of text")
        checked[name] = value
    return checked


_ACCESS_KEY = re.compile(r"[!-~]+")  # printable ASCII, no spaces: what a header carries unchanged


def _with_access_key(headers: dict[str, str], key: object) -> str | None:
    """Add the access key to `headers` (Bearer, or X-API-Key when Authorization is taken); the cleaned key."""
    if key is None or (isinstance(key, str) and not key.strip()):
        return None
    if not isinstance(key, str) or not _ACCESS_KEY.fullmatch(key.strip()):
        raise InvalidRequest(
            "the access key must be one word of printable ASCII characters",
            f"pass the key the deployment's operator gave you with --access-key or {ENV_ACCESS_KEY}",
        )
    key = key.strip()
    names = {name.lower(): name for name in headers}
    if "x-api-key" in names or headers.get(names.get("authorization", ""), "") == f"Bearer {key}":
        return key  # already there (settings copied with replace())
    if "authorization" in names:
        headers["X-API-Key"] = key
    else:
        headers["Authorization"] = f"Bearer {key}"
    return key


def _check_numbers(settings: object, seconds: tuple[str, ...], counts: tuple[tuple[str, int], ...]) -> None:
    for name in seconds:
        value = getattr(settings, name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise InvalidRequest(f"{name} must be a positive number of seconds, not {value!r}")
    for name, least in counts:
        value = getattr(settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise InvalidRequest(f"{name} must be a whole number of at least {least}, not {value!r}")
