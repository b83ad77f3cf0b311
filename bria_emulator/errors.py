"""Bria error bodies, which differ by route family (v1 management vs v2 generation/status)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("bria_emulator")

_UNSET: Any = object()
UNAUTHORIZED_V1 = "Unauthorized: invalid or missing api_token"
QUOTA_403 = (
    "Quota exceeded: Free users can make up to 1000 requests in total. "
    "Please upgrade your plan to continue using the service."
)
RATE_LIMIT_MESSAGE = (
    "Request limit exceeded. Your account has reached its maximum allowed requests. "
    "Please upgrade your plan or try again later."
)


class ApiError(Exception):
    """Raised by handlers; rendered per family by `api_error_response`.

    body: explicit v1 body (e.g. a bare JSON string, or {"errors": [...]}); default {"message": message}.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        body: Any = _UNSET,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body
        self.details = details
        self.headers = headers or {}


def v1_string(status: int, text: str) -> ApiError:
    """v1 errors whose documented body is a bare JSON string (403 quota, checkpoint 400/404)."""
    return ApiError(status, text, body=text)


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def is_v2_path(path: str) -> bool:
    return path.startswith("/v2/")


def v2_body(status: int, message: str, details: str | None, request_id: str) -> dict[str, Any]:
    # bria-client requires int code, message AND details, so details is never omitted.
    return {
        "error": {"code": status, "message": message, "details": details or message},
        "request_id": request_id,
    }


def error_body(
    path: str,
    status: int,
    message: str,
    *,
    body: Any = _UNSET,
    details: str | None = None,
    request_id: str = "",
) -> Any:
    if is_v2_path(path):
        return v2_body(status, message, details, request_id)
    return {"message": message} if body is _UNSET else body


def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", "") or ""


def api_error_response(request: Request, exc: ApiError) -> JSONResponse:
    content = error_body(
        request.url.path,
        exc.status,
        exc.message,
        body=exc.body,
        details=exc.details,
        request_id=request_id_of(request),
    )
    return JSONResponse(content, status_code=exc.status, headers=exc.headers)


def _validation_text(err: dict[str, Any]) -> str:
    loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path", "header")]
    return f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}"


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """start_training's documented shape: [{"msg", "field_name", "field_input"}]."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        value = err.get("input")
        out.append(
            {
                "msg": str(err.get("msg", "invalid")),
                "field_name": ".".join(loc) or "body",
                "field_input": "" if value is None else str(value),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return api_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Bria answers 400 (not FastAPI's 422) for malformed requests.
        if getattr(request.state, "operation_id", None) == "start-training":
            return JSONResponse({"errors": _field_errors(exc)}, status_code=400)
        text = "; ".join(_validation_text(e) for e in exc.errors()) or "Invalid request"
        return api_error_response(
            request,
            ApiError(
                400, "Bad request - validation error" if is_v2_path(request.url.path) else text, details=text
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else reason(exc.status_code)
        return api_error_response(
            request, ApiError(exc.status_code, message, headers=dict(exc.headers or {}))
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("emulator handler crashed")
        return api_error_response(request, ApiError(500, "Internal server error", details=type(exc).__name__))
