"""One error tree for everything the client can raise.

Every error carries Bria's message and request id when there is one, and never the token: the transport
scrubs any secret from messages before they are built.  ``applied`` tells a caller what a failed mutating
call may have done on the server, which decides between "resend" and "reconcile first".
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from enum import Enum
from time import time
from typing import Any

import httpx


class Applied(str, Enum):
    """What a failed call may have done remotely."""

    NO = "no"  # provably not applied: safe to resend
    MAYBE = "maybe"  # indeterminate: reconcile with a GET/list before anything else


class BriaError(Exception):
    """Root of every error raised by ``bria_api``."""

    applied: Applied = Applied.NO
    transient: bool = False


class MissingTokenError(BriaError):
    """No API token is configured."""


class BriaValidationError(BriaError, ValueError):
    """Input refused locally, before any request was sent. ``field`` names the file or field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BriaAPIError(BriaError):
    """Bria answered with an HTTP error status."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        details: str | None = None,
        operation: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        self.message = message
        self.request_id = request_id
        self.details = details
        self.operation = operation
        self.body = body
        self.retry_after = retry_after
        where = f" [{operation}]" if operation else ""
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"Bria API {self.status_code}{where}: {message}{rid}")


class BadRequestError(BriaAPIError):
    status_code = 400


class AuthenticationError(BriaAPIError):
    """401: the token was rejected (revoked, mistyped or missing)."""

    status_code = 401

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(f"token rejected ({message}); set a valid BRIA_API_TOKEN", **fields)


class PermissionDeniedError(BriaAPIError):
    """403: quota exceeded, feature not in plan, or resource of another organization."""

    status_code = 403


class NotFoundError(BriaAPIError):
    status_code = 404


class ConflictError(BriaAPIError):
    """409: the resource is in a state that forbids this (already started, dataset completed...)."""

    status_code = 409


class PreconditionFailedError(BriaAPIError):
    """412: a precondition is unmet (dataset not completed, image resolution too low)."""

    status_code = 412


class PayloadTooLargeError(BriaAPIError):
    status_code = 413


class UnsupportedMediaError(BriaAPIError):
    status_code = 415


class UnprocessableError(BriaAPIError):
    """422: content moderation or an unusable input URL."""

    status_code = 422


class RateLimitedError(BriaAPIError):
    """429: per-minute rate limit or account quota."""

    status_code = 429
    transient = True


class ImageDownloadError(BriaAPIError):
    """460: Bria could not download an input image URL."""

    status_code = 460


class ServerError(BriaAPIError):
    """5xx: Bria failed; for a POST the side effect may or may not have happened."""

    status_code = 500
    transient = True
    applied = Applied.MAYBE


class BriaTransportError(BriaError):
    """No usable HTTP response."""

    transient = True

    def __init__(
        self, message: str, *, operation: str | None = None, applied: Applied = Applied.MAYBE
    ) -> None:
        super().__init__(f"{message} [{operation}]" if operation else message)
        self.operation = operation
        self.applied = applied


class BriaConnectError(BriaTransportError):
    """The request never reached the server: always safe to resend."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message, operation=operation, applied=Applied.NO)


class BriaTimeoutError(BriaTransportError):
    """A timeout or the per-request deadline fired after the request may have been sent."""


class BriaConnectionLostError(BriaTransportError):
    """The connection dropped after the request was sent (reset, truncated response)."""


class BriaResponseError(BriaError):
    """A response that cannot be understood (truncated JSON, HTML, wrong shape)."""

    def __init__(self, message: str, *, operation: str | None = None, request_id: str | None = None) -> None:
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{message}{rid}" + (f" [{operation}]" if operation else ""))
        self.operation = operation
        self.request_id = request_id


class JobFailedError(BriaError):
    """A v2 async job ended with status ERROR or UNKNOWN."""

    def __init__(
        self, request_id: str, status: str, message: str, code: Any = None, details: str | None = None
    ):
        super().__init__(
            f"Bria job {request_id} ended {status}: {message}" + (f" ({details})" if details else "")
        )
        self.request_id = request_id
        self.status = status
        self.code = code
        self.details = details


class JobTimeoutError(BriaError):
    """A v2 async job did not finish within its time budget; it may still finish remotely."""

    def __init__(self, request_id: str, waited: float) -> None:
        super().__init__(f"Bria job {request_id} still in progress after {waited:.0f}s; poll it again later")
        self.request_id = request_id


class WebhookVerificationError(BriaError):
    """A webhook delivery failed signature, freshness or replay checks."""


_BY_STATUS: dict[int, type[BriaAPIError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PreconditionFailedError,
        PayloadTooLargeError,
        UnsupportedMediaError,
        UnprocessableError,
        RateLimitedError,
        ImageDownloadError,
    )
}


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date); None if absent."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(raw).timestamp() - time())
        except (TypeError, ValueError, IndexError):
            return None


def _message_from_body(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, details, request_id) from any of Bria's error body families."""
    if isinstance(body, str):
        return body, None, None
    if not isinstance(body, dict):
        return None, None, None
    request_id = body.get("request_id") if isinstance(body.get("request_id"), str) else None
    err = body.get("error")
    if isinstance(err, dict):  # v2: {"error": {code, message, details}, "request_id"}
        details = err.get("details")
        return str(err.get("message") or ""), (str(details) if details else None), request_id
    if isinstance(body.get("errors"), list):  # v1 start_training: [{msg, field_name, field_input}]
        parts = []
        for item in body["errors"]:
            if isinstance(item, dict):
                field = item.get("field_name") or item.get("loc")
                parts.append(f"{field}: {item.get('msg')}" if field else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts), None, request_id
    for key in ("message", "detail", "error"):
        if body.get(key):
            return str(body[key]), None, request_id
    return None, None, request_id


def error_from_response(response: httpx.Response, *, operation: str | None = None) -> BriaAPIError:
    """Build the typed error for an HTTP error response, whatever Bria's body looks like."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    message, details, request_id = _message_from_body(body)
    if not message:
        text = response.text.strip() if body is None else ""
        message = (
            text[:300] if text and not text.lstrip().startswith("<") else (response.reason_phrase or "error")
        )
    request_id = request_id or response.headers.get("x-request-id")
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else BriaAPIError)
    err = cls(
        message,
        status_code=status,
        request_id=request_id,
        details=details,
        operation=operation,
        body=body,
        retry_after=parse_retry_after(response.headers),
    )
    if status == 408:
        err.transient = True
    # 503 with Retry-After, or x-should-retry, means the server explicitly did not process it.
    if status >= 500 and (
        response.headers.get("x-should-retry") == "true" or (status == 503 and err.retry_after)
    ):
        err.applied = Applied.NO
    if response.headers.get("x-should-retry") == "false":
        err.transient = False
    return err
