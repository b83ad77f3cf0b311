"""Wire-level effects of faults: cutting the TCP connection, rewriting JSON bodies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Callable
from typing import Any

from starlette.types import Send

from bria_emulator.faults import FaultRule

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>cloudflare</center></body></html>"
)


class EmulatedDisconnect(Exception):
    """Fallback when the server does not expose its transport: abort the response mid-body."""


async def cut_connection(raw_send: Send, *, rst: bool) -> None:
    """Drop the TCP connection without a response byte (rst=True: send a RST instead of a FIN).

    raw_send must be the server's own `send` (under uvicorn a bound method of the request cycle, whose
    `transport` we abort). Elsewhere (e.g. httpx.ASGITransport) fall back to a short body under a larger
    Content-Length, then raise EmulatedDisconnect.
    """
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        await raw_send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"100000")],
            }
        )
        await raw_send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise EmulatedDisconnect("emulated connection drop")
    if rst:  # SO_LINGER 0 turns close() into a TCP RST ("connection reset by peer")
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    for _ in range(10):  # let connection_lost() mark the cycle disconnected so uvicorn sends no 500
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


def walk_objects(value: Any, fn: Callable[[dict[str, Any]], None]) -> Any:
    if isinstance(value, dict):
        for child in value.values():
            walk_objects(child, fn)
        fn(value)
    elif isinstance(value, list):
        for child in value:
            walk_objects(child, fn)
    return value


def transform_json(body: bytes, fn: Callable[[dict[str, Any]], None]) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return json.dumps(walk_objects(data, fn)).encode()


def drift(obj: dict[str, Any], rule: FaultRule) -> None:
    if "status" in obj and isinstance(obj["status"], str):
        obj["status"] = rule.status_value
    for name in rule.drop_fields:
        obj.pop(name, None)
