"""Webhook signing (Bria scheme, verified by bria-client) and bounded delivery with retries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

logger = logging.getLogger("bria_emulator")

SIGNING_SALT = b"bria-webhook-signing-v1"
RETRY_DELAYS = (0.2, 0.5, 1.0)  # real seconds between attempts: 4 attempts max, bounded
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def signing_key(api_token: str) -> bytes:
    return hmac.new(api_token.encode(), SIGNING_SALT, hashlib.sha256).digest()


def sign(api_token: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """Bria-Webhook-Signature value: 'v1=' + base64(HMAC_SHA256(key, f'{id}.{ts}.' + body))."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(api_token), message, hashlib.sha256).digest()
    return "v1=" + base64.b64encode(digest).decode()


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS


class WebhookDispatcher:
    """Delivers finished jobs' status bodies; every delivery is recorded for GET /_emulator/webhooks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self.records))

    async def deliver(self, url: str, payload: dict[str, Any], api_token: str) -> dict[str, Any]:
        request_id = str(payload.get("request_id", ""))
        body = encode_body(payload)
        record: dict[str, Any] = {
            "request_id": request_id,
            "url": url,
            "body": payload,
            "attempts": [],
            "delivered": False,
        }
        with self._lock:
            self.records.append(record)
        if not is_loopback_url(url):
            # Offline emulator: never send anything off the machine.
            record["skipped"] = "webhook_url is not a loopback URL"
            return record
        async with httpx.AsyncClient(timeout=10.0) as client:
            for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
                if delay:
                    await asyncio.sleep(delay)
                timestamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "Bria-Webhook-Id": request_id,
                    "Bria-Webhook-Timestamp": timestamp,
                    "Bria-Webhook-Signature": sign(api_token, request_id, timestamp, body),
                }
                entry: dict[str, Any] = {"attempt": attempt + 1, "timestamp": timestamp}
                try:
                    response = await client.post(url, content=body, headers=headers)
                    entry["status_code"] = response.status_code
                except httpx.HTTPError as exc:
                    entry["error"] = type(exc).__name__
                with self._lock:
                    record["attempts"].append(entry)
                    record["headers"] = {k: v for k, v in headers.items() if k != "Content-Type"}
                if 200 <= entry.get("status_code", 0) < 300:
                    with self._lock:
                        record["delivered"] = True
                    break
        return record
