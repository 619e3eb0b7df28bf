"""The web app's configuration: one typed place, read from the environment (unset or empty -> the default).

Every setting is a field of `Settings` below; its environment variable is HYMT_ + the field's name in capitals, except
where the field's metadata names another (host and port: HYMT_WEB_HOST, HYMT_WEB_PORT). docs/web.md lists them all.
The defaults are stated here only: the page reads the text limit from /api/info, compose passes an empty value for
what the operator left unset, and the image sets only what differs in a container (HYMT_WEB_HOST=0.0.0.0).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from hymt.core.chunking import DEFAULT_BUDGET
from hymt.core.prompts import ModelProfile, resolve_model
from hymt.sdk.settings import DEFAULT_MODEL, DEFAULT_URL
from hymt_web.access import AccessKeys, AccessKeysError
from hymt_web.glossaries import GlossariesError, Glossary, load_glossaries

PROFILES = ("gpu", "rehearsal")
COMPAT_APIS = ("deepl", "libretranslate")  # the compatible APIs the gateway can serve (hymt_web/compat)
# The most server processes `hymt web` starts: far more than the cores of any one host the stack runs on.
MAX_WORKERS = 64
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _env(name: str) -> dict[str, str]:
    return {"env": name}


class SettingsError(ValueError):
    """One or more environment variables hold values the gateway cannot use; the message lists each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid web app configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    # The SDK reads the same upstream variables with the same defaults, so one environment configures both.
    upstream_url: str = DEFAULT_URL  # the OpenAI-compatible base URL ending in /v1
    api_key: str | None = None  # vLLM's --api-key, sent as "Authorization: Bearer ..."
    served_model: str = DEFAULT_MODEL  # vLLM's --served-model-name
    # The prompt family (hunyuan-mt, hy-mt1.5, hy-mt2) of a served name the model catalogue does not know; empty: the
    # catalogue's, else plain translation with Hunyuan-MT's prompts (hymt.core.prompts.resolve_model).
    model_family: str = ""
    profile: str = "gpu"  # gpu or rehearsal; the page warns that rehearsal answers are noise
    max_chars: int = 5000  # the longest text one request may carry
    max_in_flight: int = 64  # translations at once (all clients); more get 429 with Retry-After
    max_segments: int = 64  # upstream requests one text may take (its lines grouped up to chunk_tokens); more: 413
    client_rate: int = 60  # translation requests a minute per client address (after a burst); more get 429
    client_burst: int = 20  # translation requests a client address may send at once before client_rate applies
    client_max_in_flight: int = 4  # translations at once per client address; more get 429 with Retry-After
    # Addresses (IPs or networks, comma-separated) whose X-Forwarded-For is believed: the proxy's. A request from
    # anywhere else is counted under its own address, whatever it claims.
    forwarded_allow_ips: str = "127.0.0.1"
    # A file of access keys (SHA-256 digests, one a line, each optionally followed by a label; hymt_web/access.py):
    # when set, every translation needs one of the keys. Unset: the service is open to everyone.
    access_keys_file: str | None = None
    # Compatible APIs to serve as well (comma-separated: deepl, libretranslate; hymt_web/compat), for clients that
    # speak DeepL's or LibreTranslate's API. Off when empty; they need access keys (access_keys_file).
    compat_apis: str = ""
    # Characters one key may translate through the compatible APIs in a calendar month (UTC); 0: no limit. Counted in
    # the web app's memory, so a restart starts the count again.
    compat_character_limit: int = 0
    # A JSON file of glossaries by name (hymt_web/glossaries.py), which a request's glossary_id names (DeepL's API,
    # /api/translate). Unset: none.
    glossaries_file: str | None = None
    chunk_concurrency: int = 4  # upstream requests at once for the pieces of one long text
    chunk_tokens: int = DEFAULT_BUDGET  # input tokens per upstream request
    # The model's directory (its tokenizer.json): requests are sized by the model's own token count; unset or
    # without that file, by the cautious estimate.
    tokenizer_dir: str = ""
    connect_timeout: float = 5.0  # seconds to connect to the upstream
    read_timeout: float = 120.0  # seconds the upstream may stay silent: before its answer, or between two pieces
    request_timeout: float = 300.0  # seconds one whole translation may take
    # /readyz asks the model for one token at most this often (unless a translation produced text more recently), and
    # reports not-ready when that generation fails or takes longer than ready_probe_timeout: a wedged engine that
    # still answers /health turns not-ready within the sum of the two and the 2 s a readiness answer is kept (10 s).
    ready_probe_interval: float = 4.0
    ready_probe_timeout: float = 4.0
    host: str = field(default="127.0.0.1", metadata=_env("HYMT_WEB_HOST"))  # the address to listen on
    port: int = field(default=8000, metadata=_env("HYMT_WEB_PORT"))  # the port to listen on (the stack's proxy's)
    log_level: str = "info"  # uvicorn's log level
    # Server processes on the one port (uvicorn's workers, `hymt web --workers`). Above 1 they share the three limits
    # through a store in a fresh directory (hymt_web/shared.py) and /metrics sums over them; 1: all in this process.
    web_workers: int = field(default=1, metadata=_env("HYMT_WEB_WORKERS"))
    # The keys of access_keys_file, read once when the settings are made (None: access control is off).
    access_keys: AccessKeys | None = field(default=None, init=False, repr=False, compare=False)
    # The glossaries of glossaries_file by name, read once when the settings are made (empty: none).
    glossaries: dict[str, Glossary] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = self.problems()
        keys = None
        glossaries: dict[str, Glossary] = {}
        try:
            keys = AccessKeys.load(self.access_keys_file) if self.access_keys_file else None
        except AccessKeysError as invalid:
            problems.append(str(invalid))
        try:
            glossaries = load_glossaries(self.glossaries_file) if self.glossaries_file else {}
        except GlossariesError as invalid:
            problems.append(str(invalid))
        if problems:
            raise SettingsError(problems)
        object.__setattr__(self, "upstream_url", self.upstream_url.rstrip("/"))
        object.__setattr__(self, "access_keys", keys)
        object.__setattr__(self, "glossaries", glossaries)

    @property
    def upstream_root(self) -> str:
        """The server root (where vLLM answers /health), i.e. the base URL without its /v1."""
        return self.upstream_url.rstrip("/").removesuffix("/v1")

    @property
    def compat(self) -> tuple[str, ...]:
        """HYMT_COMPAT_APIS as a tuple of names."""
        return tuple(name.strip() for name in self.compat_apis.split(",") if name.strip())

    @property
    def model_profile(self) -> ModelProfile:
        """The served model's prompt family and sampling."""
        return resolve_model(self.served_model, self.model_family)

    @property
    def trusted_proxies(self) -> list[str]:
        """HYMT_FORWARDED_ALLOW_IPS as a list (uvicorn's ProxyHeadersMiddleware takes it as it is)."""
        return [entry.strip() for entry in self.forwarded_allow_ips.split(",") if entry.strip()]

    def problems(self) -> list[str]:
        found = []
        url = urlsplit(self.upstream_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.netloc or not url.path.endswith("/v1"):
            found.append(
                f"HYMT_UPSTREAM_URL={self.upstream_url!r}: give the OpenAI-compatible base URL, "
                "http(s)://host:port/v1 (e.g. http://vllm:8000/v1)"
            )
        if not self.served_model.strip():
            found.append("HYMT_SERVED_MODEL is empty: give the served model name (vLLM's --served-model-name)")
        else:
            try:
                resolve_model(self.served_model, self.model_family)
            except ValueError as invalid:
                found.append(f"HYMT_MODEL_FAMILY={self.model_family!r}: {invalid}")
        if self.profile not in PROFILES:
            found.append(f"HYMT_PROFILE={self.profile!r}: use one of {', '.join(PROFILES)}")
        if not 0 < self.port < 65536:
            found.append(f"HYMT_WEB_PORT={self.port}: must be a port number (1-65535)")
        if not 1 <= self.web_workers <= MAX_WORKERS:
            found.append(
                f"HYMT_WEB_WORKERS={self.web_workers}: must be a whole number of server processes from 1 to "
                f"{MAX_WORKERS} (1, the default, serves from one process; more share the limits between them)"
            )
        if self.log_level not in LOG_LEVELS:
            found.append(f"HYMT_LOG_LEVEL={self.log_level!r}: use one of {', '.join(LOG_LEVELS)}")
        unknown = [name for name in self.compat if name not in COMPAT_APIS]
        if unknown:
            found.append(
                f"HYMT_COMPAT_APIS: {', '.join(map(repr, unknown))} is not a compatible API this web app has; give "
                f"some of {', '.join(COMPAT_APIS)}, comma-separated, or leave it empty"
            )
        if self.compat and not self.access_keys_file:
            found.append(
                "HYMT_COMPAT_APIS is set but HYMT_ACCESS_KEYS_FILE is not: the compatible APIs take the clients' keys "
                "and need them listed; set HYMT_ACCESS_KEYS_FILE (hymt_access_keys in the inventory)"
            )
        if self.compat_character_limit < 0:
            found.append(
                f"HYMT_COMPAT_CHARACTER_LIMIT={self.compat_character_limit}: must be 0 (no limit) or more characters"
            )
        if self.compat_character_limit > 0 and self.web_workers > 1:
            found.append(
                f"HYMT_COMPAT_CHARACTER_LIMIT={self.compat_character_limit} with HYMT_WEB_WORKERS={self.web_workers}: "
                "the monthly characters are counted in each process's memory, so a key could translate that many "
                "times the limit; keep HYMT_WEB_WORKERS=1 or set HYMT_COMPAT_CHARACTER_LIMIT=0"
            )
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                found.append(
                    f"HYMT_FORWARDED_ALLOW_IPS: {entry!r} is not an IP address or network; give the proxy's "
                    "addresses, comma-separated (e.g. 127.0.0.1 or 172.16.0.0/12)"
                )
        for name in (
            "max_chars",
            "max_in_flight",
            "max_segments",
            "client_rate",
            "client_burst",
            "client_max_in_flight",
            "chunk_concurrency",
            "chunk_tokens",
        ):
            if getattr(self, name) < 1:
                found.append(f"{_env_name(name)}={getattr(self, name)}: must be at least 1")
        for name in (
            "connect_timeout",
            "read_timeout",
            "request_timeout",
            "ready_probe_interval",
            "ready_probe_timeout",
        ):
            if not getattr(self, name) > 0:
                found.append(f"{_env_name(name)}={getattr(self, name)}: must be a number of seconds above 0")
        return found

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from HYMT_* variables (unset or empty ones keep their defaults), then `overrides` (command-line
        options; None means not given); SettingsError names every bad value."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems = []
        for item in fields(cls):
            if not item.init:
                continue
            raw = environ.get(_env_name(item.name), "").strip()
            if not raw:
                continue
            convert = _CONVERTERS.get(item.name, str)
            try:
                values[item.name] = convert(raw)
            except ValueError:
                kind = "a whole number" if convert is int else "a number"
                problems.append(f"{_env_name(item.name)}={raw!r}: must be {kind}")
        values.update({name: value for name, value in overrides.items() if value is not None})
        try:
            settings = cls(**values)
        except SettingsError as invalid:
            raise SettingsError(problems + invalid.problems) from None
        if problems:
            raise SettingsError(problems)
        return settings


def _env_name(field_name: str) -> str:
    """The environment variable of a field: its metadata's, or HYMT_ + the name in capitals."""
    for item in fields(Settings):
        if item.name == field_name and "env" in item.metadata:
            return item.metadata["env"]
    return "HYMT_" + field_name.upper()


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "max_chars": int,
    "port": int,
    "web_workers": int,
    "log_level": str.lower,
    "max_in_flight": int,
    "max_segments": int,
    "client_rate": int,
    "client_burst": int,
    "client_max_in_flight": int,
    "chunk_concurrency": int,
    "chunk_tokens": int,
    "connect_timeout": float,
    "read_timeout": float,
    "request_timeout": float,
    "ready_probe_interval": float,
    "ready_probe_timeout": float,
    "profile": str.lower,
    "compat_apis": str.lower,
    "compat_character_limit": int,
    "model_family": str.lower,
}
