"""Errors the gateway answers with: an HTTP status, a stable code for programs and a message in plain words."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse

log = logging.getLogger("hymt_web")

INTERNAL_MESSAGE = "Something went wrong in the web app; its log has the details."


class GatewayError(Exception):
    """`message` is public: what happened and what to do, nothing of the gateway's insides. `detail` is for the
    operator (the upstream's URL, a setting to check, the model server's own words) and only ever logged."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.detail = detail or message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


# Upstream failures, one constructor per kind so messages stay the same wherever they arise. `detail` goes to the log.
def upstream_unreachable(detail: str) -> GatewayError:
    return GatewayError(
        503,
        "upstream_unreachable",
        "The translation model cannot be reached right now. Try again in a moment.",
        detail=detail,
    )


def upstream_not_ready(detail: str) -> GatewayError:
    return GatewayError(
        503,
        "upstream_not_ready",
        "The translation model is not ready yet (it may still be loading). Try again in a minute.",
        detail=detail,
    )


def upstream_timeout(detail: str) -> GatewayError:
    return GatewayError(
        504,
        "upstream_timeout",
        "The translation model took too long to answer. Try again later, or translate a shorter text.",
        detail=detail,
    )


def upstream_error(detail: str) -> GatewayError:
    return GatewayError(
        502,
        "upstream_error",
        "The translation model failed on this request. Try again; if it keeps failing, tell the operator of this "
        "service (the web app's log says why).",
        detail=detail,
    )


def internal(exc: BaseException) -> GatewayError:
    """A fault of the gateway itself: logged with its traceback, answered without it."""
    log.error("unexpected error", exc_info=exc)
    return GatewayError(500, "internal_error", INTERNAL_MESSAGE)
