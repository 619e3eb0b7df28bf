"""Where the translation server is and how to talk to it: one immutable, validated settings object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from hymt.core.chunking import DEFAULT_BUDGET
from hymt.core.prompts import MAX_TOKENS_CAP, ModelFamily
from hymt.sdk.errors import InvalidRequest

# The same variable names the web app reads, so one environment configures both.
ENV_URL = "HYMT_UPSTREAM_URL"
ENV_API_KEY = "HYMT_UPSTREAM_API_KEY"
ENV_MODEL = "HYMT_MODEL"

DEFAULT_URL = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL = "Hunyuan-MT-7B"


@dataclass(frozen=True)
class ClientSettings:
    """How to reach an OpenAI-compatible translation server. Invalid values raise InvalidRequest at once."""

    base_url: str = DEFAULT_URL
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    # The prompt dialect. None: inferred from the model name (ModelFamily.for_model); set it when a served name
    # hides the family (e.g. --served-model-name translator for an HY-MT1.5 model).
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
        set_(self, "base_url", _check_url(self.base_url))
        set_(self, "api_key", (self.api_key or "").strip() or None)
        model = (self.model or "").strip()
        if not model:
            raise InvalidRequest("the model name is empty", "pass --model or set HYMT_MODEL to the served model name")
        set_(self, "model", model)
        if isinstance(self.family, str) and not isinstance(self.family, ModelFamily):
            try:
                set_(self, "family", ModelFamily.parse(self.family))
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from None
        for name in ("connect_timeout", "read_timeout", "backoff_base", "backoff_max", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise InvalidRequest(f"{name} must be a positive number of seconds, not {value!r}")
        for name, least in (("retries", 0), ("max_workers", 1), ("chunk_budget", 1), ("max_tokens_cap", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < least:
                raise InvalidRequest(f"{name} must be a whole number of at least {least}, not {value!r}")

    @property
    def prompt_family(self) -> ModelFamily:
        """The prompt dialect to use: the one set, or the one the model name implies."""
        return self.family or ModelFamily.for_model(self.model)

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) as `requests` takes them."""
        return (self.connect_timeout, self.read_timeout)

    def replace(self, **changes: object) -> ClientSettings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ClientSettings:
        """Settings from HYMT_UPSTREAM_URL, HYMT_UPSTREAM_API_KEY and HYMT_MODEL, then the defaults.

        Keyword overrides win over the environment; an override of None means "not given".
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field_name, variable in (("base_url", ENV_URL), ("api_key", ENV_API_KEY), ("model", ENV_MODEL)):
            if env.get(variable, "").strip():
                values[field_name] = env[variable].strip()
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]


def _check_url(url: str) -> str:
    cleaned = (url or "").strip().rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidRequest(
            f"{url!r} is not a server URL",
            f"give the OpenAI-compatible base URL, such as {DEFAULT_URL}, with --url or HYMT_UPSTREAM_URL",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidRequest(f"the server URL {url!r} has an invalid port", f"use e.g. {DEFAULT_URL}") from None
    if parts.query or parts.fragment:
        raise InvalidRequest(f"the server URL {url!r} must not have a query or fragment", f"use e.g. {DEFAULT_URL}")
    return cleaned
