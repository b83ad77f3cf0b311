"""Outermost pure-ASGI layer: request ids, auth, stats and fault injection (incl. cutting the TCP connection).

It must wrap the whole Starlette stack so that `send` is uvicorn's own bound method: only then can a fault
reach the transport (`send.__self__.transport`) and drop the connection before any response byte.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bria_emulator.errors import (
    QUOTA_403,
    RATE_LIMIT_MESSAGE,
    UNAUTHORIZED_V1,
    error_body,
    is_v2_path,
    reason,
)
from bria_emulator.fault_effects import HTML_PAGE, cut_connection, drift, transform_json
from bria_emulator.faults import POST_HANDLER_KINDS, FaultRule
from bria_emulator.runtime import Runtime

logger = logging.getLogger("bria_emulator")


@dataclass
class _Outcome:
    sent: int | None = None  # status line the client received
    committed: int | None = None  # status the handler produced
    retry_after: str | None = None  # Retry-After / retry-after-ms header the client received


@dataclass
class _Buffered:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _with_request_id(send: Send, request_id: str, outcome: _Outcome) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
            message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            outcome.sent = message["status"]
            for name, value in message["headers"]:
                if name.lower() in (b"retry-after", b"retry-after-ms"):
                    outcome.retry_after = f"{name.decode().lower()}: {value.decode()}"
        await send(message)

    return wrapped


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, host_app: Any) -> None:
        self.app = app
        self.host_app = host_app  # the FastAPI app: routes for operationId lookup, state.runtime
        self._table: list[tuple[int, str, Any, str | None]] | None = None

    def _operation_id(self, scope: Scope) -> str | None:
        # FastAPI >= 0.150 nests included routers lazily, so match against the app's own OpenAPI paths.
        if self._table is None:
            table = []
            for template, item in self.host_app.openapi().get("paths", {}).items():
                regex = compile_path(template)[0]
                for method, operation in item.items():
                    table.append((template.count("{"), method.upper(), regex, operation.get("operationId")))
            self._table = sorted(table, key=lambda row: row[0])  # static segments win over parameters
        path, method = scope["path"], scope["method"]
        for _, verb, regex, operation_id in self._table:
            if verb == method and regex.match(path):
                return operation_id
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived, request_id = time.time(), uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        outcome = _Outcome()
        tracked = _with_request_id(send, request_id, outcome)
        operation_id = self._operation_id(scope) if scope["path"].startswith(("/v1/", "/v2/")) else None
        if operation_id is None:  # admin, files, openapi, unknown routes: no auth, no faults, no stats
            await self.app(scope, receive, tracked)
            return
        runtime: Runtime = self.host_app.state.runtime
        scope["state"]["operation_id"] = operation_id
        try:
            await self._bria_call(scope, receive, send, tracked, runtime, operation_id, outcome)
        finally:
            runtime.stats.record(
                operation_id,
                scope["method"],
                outcome.sent,
                outcome.committed,
                path=scope["path"],
                arrived=arrived,
                retry_after=outcome.retry_after,
            )

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        message: str,
        *,
        details: str | None = None,
        v1_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        path = scope["path"]
        body = error_body(
            path,
            status,
            message,
            details=details,
            request_id=scope["state"]["request_id"],
            **({"body": v1_body} if v1_body is not None and not is_v2_path(path) else {}),
        )
        await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)

    async def _bria_call(
        self,
        scope: Scope,
        receive: Receive,
        raw_send: Send,
        send: Send,
        runtime: Runtime,
        operation_id: str,
        outcome: _Outcome,
    ) -> None:
        faults, stats, method = runtime.faults, runtime.stats, scope["method"]
        if faults.is_down():
            stats.fault("down")
            await cut_connection(raw_send, rst=True)
            return
        token = Headers(scope=scope).get("api_token") or ""
        token_ok = hmac.compare_digest(token.encode(), runtime.token.encode())
        if token_ok and faults.token_revoked():
            stats.fault("revoke_token")
            token_ok = False
        if not token_ok:
            await self._respond(
                scope,
                receive,
                send,
                401,
                "Unauthorized",
                details="invalid or missing api_token",
                v1_body={"message": UNAUTHORIZED_V1},
            )
            return
        stats.authenticated(method)
        limited = faults.rate_limited()
        if limited is not None:
            stats.fault("rpm_cap")
            headers = {"Retry-After": str(limited.retry_after)} if limited.retry_after is not None else None
            await self._respond(
                scope,
                receive,
                send,
                429,
                "Too Many Requests",
                details=RATE_LIMIT_MESSAGE,
                v1_body={"message": RATE_LIMIT_MESSAGE},
                headers=headers,
            )
            return
        if faults.profile.latency_ms:
            await asyncio.sleep(faults.profile.latency_ms / 1000.0)
        armed = runtime.holds.take_armed()  # a `next` hold: this is the request after the held answer
        if armed is not None and not await self._park(raw_send, runtime, armed):
            return  # the client left while parked: dropped unprocessed
        rules = faults.select(operation_id, method)
        for rule in rules:
            stats.fault(rule.kind)
            if rule.kind == "latency":
                await asyncio.sleep(faults.jitter(rule))
            elif rule.kind == "job_error":
                scope["state"]["job_error"] = rule
        for rule in rules:
            if rule.kind == "hold" and rule.hold == "request":
                if not await self._park(raw_send, runtime, rule.hold_max_seconds):
                    return
        for rule in rules:
            if rule.kind == "reset":
                await cut_connection(raw_send, rst=True)
                return
            if rule.kind in ("status", "html") and not rule.commit:
                await self._fault_response(scope, receive, send, rule)
                return
        post = [
            r
            for r in rules
            if r.kind in POST_HANDLER_KINDS
            or (r.kind in ("status", "html") and r.commit)
            or (r.kind == "hold" and r.hold == "response")
        ]
        if not post:
            await self.app(scope, receive, self._committing(send, outcome))
        else:
            buffered = await self._run_buffered(scope, receive, outcome)

            async def park(rule: FaultRule) -> bool:
                return await self._park(raw_send, runtime, rule.hold_max_seconds)

            await self._deliver(scope, receive, raw_send, send, buffered, post, faults.jitter, park)
        for rule in rules:
            if rule.kind == "hold" and rule.hold == "next":
                runtime.holds.arm_next(rule.hold_max_seconds)

    @staticmethod
    async def _park(raw_send: Send, runtime: Runtime, max_seconds: float) -> bool:
        """Park until released; False when the client went away meanwhile (then nothing more is done)."""
        await runtime.holds.park(max_seconds)
        return not getattr(getattr(raw_send, "__self__", None), "disconnected", False)

    @staticmethod
    def _committing(send: Send, outcome: _Outcome) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.committed = message["status"]
            await send(message)

        return wrapped

    async def _run_buffered(self, scope: Scope, receive: Receive, outcome: _Outcome) -> _Buffered:
        captured = _Buffered(500, [], b"")
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = outcome.committed = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except Exception:
            if outcome.committed is None:
                raise
            logger.exception("handler raised after responding")
        captured.body = b"".join(chunks)
        return captured

    async def _fault_response(self, scope: Scope, receive: Receive, send: Send, rule: FaultRule) -> None:
        headers = dict(rule.headers)
        if rule.retry_after is not None:
            value = rule.retry_after
            headers["Retry-After"] = (
                str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            )
        if rule.retry_after_ms is not None:
            headers["retry-after-ms"] = str(rule.retry_after_ms)
        if rule.kind == "html":
            await Response(
                HTML_PAGE,
                status_code=rule.code or 200,
                media_type="text/html; charset=utf-8",
                headers=headers,
            )(scope, receive, send)
            return
        code = rule.code or 500
        v1_body: Any = {"message": rule.message or (RATE_LIMIT_MESSAGE if code == 429 else reason(code))}
        if code == 403:
            v1_body = rule.message or QUOTA_403  # documented v1 403 body: a bare JSON string
        await self._respond(
            scope,
            receive,
            send,
            code,
            rule.message or reason(code),
            details="Injected fault",
            v1_body=v1_body,
            headers=headers,
        )

    async def _deliver(
        self,
        scope: Scope,
        receive: Receive,
        raw_send: Send,
        send: Send,
        buffered: _Buffered,
        rules: list[FaultRule],
        delay_of: Callable[[FaultRule], float],
        park: Callable[[FaultRule], Awaitable[bool]],
    ) -> None:
        body = buffered.body
        for rule in rules:
            if rule.kind in ("status", "html"):  # commit=true: side effect done, client sees the fault
                await self._fault_response(scope, receive, send, rule)
                return
            if rule.kind == "extra_fields":
                extra = rule.fields or {"x_emulator_extra": "unexpected", "x_emulator_meta": {"drift": True}}
                body = transform_json(
                    body, lambda d, e=extra: d.update({k: v for k, v in e.items() if k not in d})
                )
            elif rule.kind == "schema_drift":
                body = transform_json(body, lambda d, r=rule: drift(d, r))
            elif rule.kind == "truncate":
                body = body[: len(body) // 2]
        kinds = {r.kind: r for r in rules}
        if "commit_then_drop" in kinds:
            await cut_connection(raw_send, rst=False)
            return
        if "hold" in kinds and not await park(kinds["hold"]):  # committed; the client left before the answer
            return
        headers = [(k, v) for k, v in buffered.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        overrides = {k.lower().encode(): v.encode() for r in rules for k, v in r.headers.items()}
        if overrides:  # e.g. a right body under a wrong Content-Type
            headers = [(k, v) for k, v in headers if k.lower() not in overrides] + list(overrides.items())
        if "delay_headers" in kinds:
            await asyncio.sleep(delay_of(kinds["delay_headers"]))
        await send({"type": "http.response.start", "status": buffered.status, "headers": headers})
        if "drip" in kinds and body:
            interval = kinds["drip"].interval_ms / 1000.0
            cycle = getattr(raw_send, "__self__", None)
            for i in range(len(body)):
                if getattr(cycle, "disconnected", False):
                    return
                await send(
                    {"type": "http.response.body", "body": body[i : i + 1], "more_body": i < len(body) - 1}
                )
                if i < len(body) - 1:
                    await asyncio.sleep(interval)
            return
        await send({"type": "http.response.body", "body": body, "more_body": False})
