"""Errors the gateway answers with: an HTTP status, a stable code for programs and a message in plain words."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


# Upstream failures, one constructor per kind so messages stay the same wherever they arise.
def upstream_unreachable(detail: str) -> GatewayError:
    return GatewayError(
        503, "upstream_unreachable", f"The translation model cannot be reached ({detail}). Try again in a moment."
    )


def upstream_not_ready(detail: str) -> GatewayError:
    return GatewayError(
        503, "upstream_not_ready", f"The translation model is not ready yet ({detail}). Try again soon."
    )


def upstream_timeout(detail: str) -> GatewayError:
    return GatewayError(504, "upstream_timeout", f"The translation model took too long to answer ({detail}).")


def upstream_error(detail: str) -> GatewayError:
    return GatewayError(502, "upstream_error", f"The translation model answered with an error ({detail}).")
