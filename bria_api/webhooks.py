"""Bria webhook signatures (v2 async jobs): sign, and verify with freshness and replay checks.

Scheme (as in Bria's SDK): key = HMAC-SHA256(key=token, msg="bria-webhook-signing-v1");
signature = base64(HMAC-SHA256(key, "{id}.{timestamp}.{raw body}")), sent as ``v1=<sig>`` tokens in
``Bria-Webhook-Signature``. Bria's SDK does not check the timestamp; we do, so stale or replayed
deliveries are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr, ValidationError

from bria_api.errors import WebhookVerificationError
from bria_api.models.generation import JobState

SIGNING_SALT = b"bria-webhook-signing-v1"
ID_HEADER = "Bria-Webhook-Id"
TIMESTAMP_HEADER = "Bria-Webhook-Timestamp"
SIGNATURE_HEADER = "Bria-Webhook-Signature"


class WebhookReplayError(WebhookVerificationError):
    """A correctly signed delivery whose id was already accepted (a replay or a redelivery)."""


def _secret(token: SecretStr | str) -> bytes:
    return (token.get_secret_value() if isinstance(token, SecretStr) else token).encode()


def sign(token: SecretStr | str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``Bria-Webhook-Signature`` value for a delivery."""
    key = hmac.new(_secret(token), SIGNING_SALT, hashlib.sha256).digest()
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1=" + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class WebhookDelivery:
    webhook_id: str
    timestamp: int
    job: JobState


class WebhookVerifier:
    """Verifies deliveries; keeps accepted ids for the tolerance window so each is accepted once."""

    def __init__(
        self,
        token: SecretStr | str,
        *,
        tolerance_seconds: float = 300.0,
        max_body_bytes: int = 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self.tolerance = tolerance_seconds
        self.max_body_bytes = max_body_bytes
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WebhookVerifier(tolerance_seconds={self.tolerance})"

    def verify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        lower = {k.lower(): v for k, v in headers.items()}
        webhook_id = lower.get(ID_HEADER.lower(), "")
        raw_ts = lower.get(TIMESTAMP_HEADER.lower(), "")
        signatures = lower.get(SIGNATURE_HEADER.lower(), "")
        if not webhook_id or not raw_ts or not signatures:
            raise WebhookVerificationError("missing Bria webhook headers")
        if len(body) > self.max_body_bytes:
            raise WebhookVerificationError(f"body over {self.max_body_bytes} bytes")
        if len(webhook_id) > 200 or len(signatures) > 4096:
            raise WebhookVerificationError("oversized webhook header")
        try:
            timestamp = int(raw_ts)
        except ValueError:
            raise WebhookVerificationError("timestamp is not an integer") from None
        now = self._clock()
        if abs(now - timestamp) > self.tolerance:
            raise WebhookVerificationError(
                f"timestamp outside the {self.tolerance:g}s tolerance (stale or future)"
            )
        expected = sign(self._token, webhook_id, raw_ts, body)
        given = [token.strip().encode("utf-8", "replace") for token in signatures.split(",")]
        if not any(
            hmac.compare_digest(expected.encode(), token) for token in given
        ):  # bytes: any header text
            raise WebhookVerificationError("signature mismatch")
        try:
            job = JobState.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            raise WebhookVerificationError("body is not a Bria job status") from None
        with self._lock:
            for seen_id, seen_at in list(self._seen.items()):
                if now - seen_at <= self.tolerance * 2:
                    break
                del self._seen[seen_id]
            if webhook_id in self._seen:
                raise WebhookReplayError(f"delivery {webhook_id} already accepted")
            self._seen[webhook_id] = now
        return WebhookDelivery(webhook_id=webhook_id, timestamp=timestamp, job=job)
