"""The gateway's configuration: one typed place, read from the environment (unset or empty -> the default).

HYMT_UPSTREAM_URL       the OpenAI-compatible base URL ending in /v1 (default http://127.0.0.1:8000/v1)
HYMT_UPSTREAM_API_KEY   sent as "Authorization: Bearer ..." (vLLM's --api-key; default none)
HYMT_MODEL              the served model name, vLLM's --served-model-name (default Hunyuan-MT-7B)
HYMT_PROFILE            gpu or rehearsal; the page warns that rehearsal answers are noise (default gpu)
HYMT_MAX_CHARS          the longest text one request may carry (default 5000)
HYMT_MAX_IN_FLIGHT      translations at once; more get 429 with Retry-After (default 64)
HYMT_CHUNK_CONCURRENCY  upstream requests at once for the pieces of one long text (default 4)
HYMT_CHUNK_TOKENS       estimated input tokens per upstream request (default 1000)
HYMT_CONNECT_TIMEOUT    seconds to connect to the upstream (default 5)
HYMT_READ_TIMEOUT       seconds the upstream may stay silent: before its answer, or between two stream pieces (120)
HYMT_REQUEST_TIMEOUT    seconds one whole translation may take (default 300)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from hymt.core.chunking import DEFAULT_BUDGET
from hymt.sdk.settings import DEFAULT_MODEL, DEFAULT_URL

PROFILES = ("gpu", "rehearsal")


class SettingsError(ValueError):
    """One or more environment variables hold values the gateway cannot use; the message lists each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid web app configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    # The SDK reads the same three variables with the same defaults, so one environment configures both.
    upstream_url: str = DEFAULT_URL
    upstream_api_key: str | None = None
    model: str = DEFAULT_MODEL
    profile: str = "gpu"
    max_chars: int = 5000
    max_in_flight: int = 64
    chunk_concurrency: int = 4
    chunk_tokens: int = DEFAULT_BUDGET
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    request_timeout: float = 300.0

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SettingsError(problems)
        object.__setattr__(self, "upstream_url", self.upstream_url.rstrip("/"))

    @property
    def upstream_root(self) -> str:
        """The server root (where vLLM answers /health), i.e. the base URL without its /v1."""
        return self.upstream_url.rstrip("/").removesuffix("/v1")

    def problems(self) -> list[str]:
        found = []
        url = urlsplit(self.upstream_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.netloc or not url.path.endswith("/v1"):
            found.append(
                f"HYMT_UPSTREAM_URL={self.upstream_url!r}: give the OpenAI-compatible base URL, "
                "http(s)://host:port/v1 (e.g. http://vllm:8000/v1)"
            )
        if not self.model.strip():
            found.append("HYMT_MODEL is empty: give the served model name (vLLM's --served-model-name)")
        if self.profile not in PROFILES:
            found.append(f"HYMT_PROFILE={self.profile!r}: use one of {', '.join(PROFILES)}")
        for name in ("max_chars", "max_in_flight", "chunk_concurrency", "chunk_tokens"):
            if getattr(self, name) < 1:
                found.append(f"{_env_name(name)}={getattr(self, name)}: must be at least 1")
        for name in ("connect_timeout", "read_timeout", "request_timeout"):
            if not getattr(self, name) > 0:
                found.append(f"{_env_name(name)}={getattr(self, name)}: must be a number of seconds above 0")
        return found

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from HYMT_* variables (unset or empty ones keep their defaults); SettingsError names bad ones."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems = []
        for field in fields(cls):
            raw = environ.get(_env_name(field.name), "").strip()
            if not raw:
                continue
            convert = _CONVERTERS.get(field.name, str)
            try:
                values[field.name] = convert(raw)
            except ValueError:
                kind = "a whole number" if convert is int else "a number"
                problems.append(f"{_env_name(field.name)}={raw!r}: must be {kind}")
        try:
            settings = cls(**values)
        except SettingsError as invalid:
            raise SettingsError(problems + invalid.problems) from None
        if problems:
            raise SettingsError(problems)
        return settings


def _env_name(field_name: str) -> str:
    return "HYMT_" + field_name.upper()


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "max_chars": int,
    "max_in_flight": int,
    "chunk_concurrency": int,
    "chunk_tokens": int,
    "connect_timeout": float,
    "read_timeout": float,
    "request_timeout": float,
    "profile": str.lower,
}
