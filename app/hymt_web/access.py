"""Optional access control: API keys for private deployments (HYMT_ACCESS_KEYS_FILE; off when unset).

The keys file holds one key per line as the SHA-256 hex digest of the key, optionally followed by a space and a label
(`printf %s "$key" | sha256sum` gives the digest), and optionally by the key's own limits as `rate=N` (translation
requests a minute) and `burst=N` at the end of the line (else HYMT_CLIENT_RATE and HYMT_CLIENT_BURST apply); blank
lines and lines starting with # are ignored. The file holds no secret: a key is never stored, logged or echoed, only
its digest compared, and only its label shown.

A request that costs a translation must carry a key, as `Authorization: Bearer <key>` or `X-API-Key: <key>` (the
second for clients whose Authorization header is taken, e.g. by the basic auth of a proxy in front). The digest of
what it carries is compared with every digest of the file in constant time (hmac.compare_digest, never an early
exit), so the answer's timing tells nothing of how close a guess came.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from hymt.core.files import TextFileError, read_text_file
from hymt_web.errors import GatewayError

log = logging.getLogger("hymt_web.access")

_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
# A key's own limits, at the end of its line: "rate=10 burst=5" (either, in any order).
_LIMIT = re.compile(r"(rate|burst)=(\S*)")
HOW_TO_DIGEST = 'printf %s "$key" | sha256sum'
REALM = "hymt"


class AccessKeysError(ValueError):
    """The keys file cannot be used; the message names the file and the line, never the line's content."""


@dataclass(frozen=True)
class AccessKey:
    digest: bytes  # SHA-256 of the key
    label: str  # what the log and the per-client limits call it
    rate: int | None = None  # its own translation requests a minute (None: HYMT_CLIENT_RATE)
    burst: int | None = None  # its own burst (None: HYMT_CLIENT_BURST)


@dataclass(frozen=True)
class AccessKeys:
    keys: tuple[AccessKey, ...]
    path: str

    @classmethod
    def load(cls, path: str) -> AccessKeys:
        """The keys of the file at `path`; AccessKeysError names the first bad line by its number."""
        try:
            text = read_text_file(path)
        except TextFileError as error:
            hint = "; give the keys file's path" if error.reason == "does not exist" else ""
            raise AccessKeysError(f"HYMT_ACCESS_KEYS_FILE: {error}{hint}") from None
        keys: list[AccessKey] = []
        seen: dict[bytes, int] = {}
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            digest, _, label = stripped.partition(" ")
            if not _DIGEST.fullmatch(digest):
                # The line is not shown: it may be a key pasted where its digest belongs.
                raise AccessKeysError(
                    f"HYMT_ACCESS_KEYS_FILE: line {number} of {path} does not start with a SHA-256 digest (64 hex "
                    f"digits); write each key as its digest ({HOW_TO_DIGEST}), optionally followed by a space and a "
                    "label"
                )
            raw = bytes.fromhex(digest)
            if raw in seen:
                raise AccessKeysError(
                    f"HYMT_ACCESS_KEYS_FILE: line {number} of {path} repeats the digest of line {seen[raw]}; "
                    "keep one of them"
                )
            seen[raw] = number
            label, limits = _limits(label, f"line {number} of {path}")
            keys.append(AccessKey(raw, label or f"key-{digest[:8].lower()}", **limits))
        if not keys:
            raise AccessKeysError(
                f"HYMT_ACCESS_KEYS_FILE: {path} holds no key, so every translation would be refused; add a key's "
                f"digest ({HOW_TO_DIGEST}), or unset HYMT_ACCESS_KEYS_FILE to turn access control off"
            )
        _check_shared_labels(keys, path)
        return cls(tuple(keys), path)

    @property
    def own_limits(self) -> dict[str, tuple[int | None, int | None]]:
        """The (rate, burst) of each client name (client_name) whose key has limits of its own."""
        return {client_name(k): (k.rate, k.burst) for k in self.keys if k.rate is not None or k.burst is not None}

    def match(self, key: str) -> AccessKey | None:
        """The entry of `key`, or None. Every digest is compared, in constant time, whatever matched before."""
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found = None
        for entry in self.keys:
            if hmac.compare_digest(digest, entry.digest):
                found = entry
        return found


def _limits(rest: str, where: str) -> tuple[str, dict[str, int]]:
    """The label and the limits (rate, burst) of the rest of a key's line, the limits being its last words."""
    label = rest.strip()
    limits: dict[str, int] = {}
    while (found := _LIMIT.fullmatch(label.rpartition(" ")[2])) is not None:
        name, value = found.groups()
        if not value.isdigit() or int(value) < 1 or name in limits:
            meaning = "translation requests a minute" if name == "rate" else "requests at once before the rate applies"
            raise AccessKeysError(
                f"HYMT_ACCESS_KEYS_FILE: {where} has {found.group(0)!r}: give {name}=N once, N a whole number of at "
                f"least 1 ({meaning})"
            )
        limits[name] = int(value)
        label = label.rpartition(" ")[0].rstrip()
    return label, limits


def _check_shared_labels(keys: list[AccessKey], path: str) -> None:
    """Keys with the same label share their limits (they count as one client), so they must not differ in them."""
    first: dict[str, AccessKey] = {}
    for entry in keys:
        other = first.setdefault(entry.label, entry)
        if (other.rate, other.burst) != (entry.rate, entry.burst):
            raise AccessKeysError(
                f"HYMT_ACCESS_KEYS_FILE: {path} has keys labelled {entry.label!r} with different rate or burst; keys "
                "with one label share their limits, so give them the same ones (or different labels)"
            )


def presented_key(request: Request) -> str | None:
    """The key a request carries: X-API-Key, else the token of `Authorization: Bearer`; None when neither."""
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def missing_key() -> GatewayError:
    return GatewayError(
        401,
        "access_key_required",
        "This service needs an access key. Send it as 'Authorization: Bearer <key>' (or 'X-API-Key: <key>'); "
        "the operator of this service gives out the keys.",
        headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
        detail="refused a translation without an access key",
    )


def wrong_key() -> GatewayError:
    return GatewayError(
        401,
        "invalid_access_key",
        "The access key was not accepted. Check that it was copied whole, or ask the operator of this service "
        "for a new one.",
        headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
        detail="refused a translation with an unknown access key",
    )


class Gate:
    """Who a translation request counts as: its address when access control is off; with keys, the label of the key
    it carries (so each key has its own per-client limits, wherever its users are), else 401.

    A refused request spends its address's rate allowance first (`count_refusal`, which raises 429 when it has
    none left), so guessing keys is as slow as translating.
    """

    def __init__(self, keys: AccessKeys | None, count_refusal: Callable[[str], None]) -> None:
        self.keys = keys
        self.count_refusal = count_refusal

    @property
    def required(self) -> bool:
        return self.keys is not None

    def client(self, request: Request, address: str) -> str:
        if self.keys is None:
            return address
        return client_name(self.entry(presented_key(request), address))

    def entry(self, key: str | None, address: str) -> AccessKey:
        """The entry of `key` (however the request carried it); else the refusal is counted against `address` and
        missing_key or wrong_key raised. Only for a gate that requires keys."""
        entry = self.keys.match(key) if self.keys is not None and key is not None else None
        if entry is None:
            self.count_refusal(address)
            error = missing_key() if key is None else wrong_key()
            log.warning("%s from %s", error.detail, address)
            raise error
        log.info("translation request with key %r from %s", entry.label, address)
        return entry


def client_name(entry: AccessKey) -> str:
    """The name a key's requests count under in the per-client limits."""
    return f"key:{entry.label}"
