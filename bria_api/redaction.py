"""Keeps secrets out of log records: a filter on our loggers and on httpx/httpcore/hpack.

httpx redacts only ``Authorization`` in its own debug output; Bria's header is ``api_token``. We never put the
token in a URL or a message, and this filter is the second line of defence for third-party debug logging.
"""

from __future__ import annotations

import base64
import logging
import threading
from urllib.parse import quote

_LOGGERS = (
    "bria_api",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "hpack",
    "hpack.hpack",
    "hpack.table",
)
_MASK = "[REDACTED]"


class SecretRedactor(logging.Filter):
    """Replaces every registered secret (raw, URL-encoded, base64) in a record's final message."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) < 4:
            return
        forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("=")}
        with self._lock:
            self._secrets |= forms

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; still never leak
            message = str(record.msg)
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


REDACTOR = SecretRedactor()


def register_secret(secret: str) -> None:
    """Register a secret with the shared redactor and make sure the filter is installed."""
    REDACTOR.add(secret)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)


def scrub(text: str) -> str:
    """Remove registered secrets from arbitrary text (error messages built from server bodies)."""
    return REDACTOR.scrub(text)
