"""Where models come from and how to authenticate: the hubs, their endpoints and tokens, validated in one place.

A token is read from a file (--token-file) or the hub's usual environment variable (HF_TOKEN, MODELSCOPE_API_TOKEN),
never from the command line (arguments show in `ps`), and is never printed: HubSettings leaves it out of its repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hymt.model.errors import ModelUsageError

HUGGINGFACE = "huggingface"
MODELSCOPE = "modelscope"
HUBS = (HUGGINGFACE, MODELSCOPE)

# The variables each hub's own tools read, so that an environment set up for them works here too.
ENV_HF_ENDPOINT = "HF_ENDPOINT"
ENV_HF_TOKEN = "HF_TOKEN"
ENV_MODELSCOPE_DOMAIN = "MODELSCOPE_DOMAIN"  # a host name, as ModelScope's client takes it
ENV_MODELSCOPE_TOKEN = "MODELSCOPE_API_TOKEN"

DEFAULT_ENDPOINTS = {HUGGINGFACE: "https://huggingface.co", MODELSCOPE: "https://www.modelscope.cn"}
TOKEN_VARIABLES = {HUGGINGFACE: ENV_HF_TOKEN, MODELSCOPE: ENV_MODELSCOPE_TOKEN}
# A Hugging Face mirror often used in mainland China, named in hints (not a default: hymt never picks a mirror).
MIRROR_EXAMPLE = "https://hf-mirror.com"


@dataclass(frozen=True)
class HubSettings:
    hub: str
    endpoint: str
    token: str | None = field(default=None, repr=False)
    token_origin: str = ""  # where the token came from, for messages ("--token-file ...", "HF_TOKEN")

    @property
    def public_endpoint(self) -> str:
        """The endpoint without credentials a mirror URL may carry, fit for messages and manifests."""
        return public_url(self.endpoint)

    @property
    def token_variable(self) -> str:
        return TOKEN_VARIABLES[self.hub]

    @classmethod
    def resolve(
        cls,
        hub: str = HUGGINGFACE,
        endpoint: str | None = None,
        token_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> HubSettings:
        """Settings from the options, then the environment, then the defaults."""
        env = os.environ if env is None else env
        if hub not in HUBS:
            raise ModelUsageError(f"unknown hub {hub!r}", f"use --hub {' or --hub '.join(HUBS)}")
        if not endpoint:
            if hub == HUGGINGFACE:
                endpoint = env.get(ENV_HF_ENDPOINT, "").strip() or None
            elif env.get(ENV_MODELSCOPE_DOMAIN, "").strip():
                endpoint = "https://" + env[ENV_MODELSCOPE_DOMAIN].strip().removeprefix("https://")
        endpoint = check_endpoint(endpoint or DEFAULT_ENDPOINTS[hub])
        token, origin = None, ""
        if token_file:
            token, origin = read_token_file(Path(token_file)), f"--token-file {token_file}"
        elif env.get(TOKEN_VARIABLES[hub], "").strip():
            token, origin = env[TOKEN_VARIABLES[hub]].strip(), TOKEN_VARIABLES[hub]
        return cls(hub=hub, endpoint=endpoint, token=token, token_origin=origin)


def check_endpoint(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelUsageError(
            f"the hub endpoint {public_url(url)!r} is not an http(s) URL",
            f"give the hub's or mirror's base URL, such as {MIRROR_EXAMPLE} (--endpoint, or {ENV_HF_ENDPOINT})",
        )
    return url.strip().rstrip("/")


def public_url(url: str) -> str:
    """`url` without a user name or password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def read_token_file(path: Path) -> str:
    try:
        token = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ModelUsageError(
            f"cannot read the token file {path}: {error.strerror}",
            "give a readable file that holds only the token (--token-file)",
        ) from None
    except UnicodeDecodeError:
        raise ModelUsageError(f"the token file {path} is not text", "put only the token in it") from None
    if not token or len(token.split()) != 1:
        raise ModelUsageError(
            f"the token file {path} is empty or holds more than a token",
            "put only the token in it (one line), e.g. a Hugging Face access token made at "
            "https://huggingface.co/settings/tokens",
        )
    return token
