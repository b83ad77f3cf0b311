"""Fault profile (pydantic, settable from config/CLI/admin API) and its seeded decision engine."""

from __future__ import annotations

import fnmatch
import json
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "status",  # answer `code` (429/5xx/...) instead of (or, with commit=true, after) running the handler
    "commit_then_drop",  # run the handler (side effect committed), then cut the TCP connection
    "reset",  # cut the connection before the handler runs: nothing committed
    "latency",  # sleep delay_ms (+- jitter_ms) before the handler
    "delay_headers",  # run the handler, then sleep delay_ms before sending anything
    "drip",  # send the body one byte every interval_ms
    "truncate",  # cut the JSON body in half (correct status, consistent Content-Length)
    "html",  # 200 (or `code`) with an HTML error page
    "extra_fields",  # add unknown fields to every JSON object of the body
    "schema_drift",  # replace every "status" value with status_value, drop drop_fields
    "job_error",  # v2 generation: the job ends with status ERROR/UNKNOWN instead of COMPLETED
    "hold",  # park the request until POST /_emulator/release (`hold`: request, response or next; holds.py)
]

# Kinds that need the handler's response before acting on it.
POST_HANDLER_KINDS = {"commit_then_drop", "delay_headers", "drip", "truncate", "extra_fields", "schema_drift"}


class FaultRule(BaseModel):
    """One injection rule. `op` is an operationId, '*' or an fnmatch pattern ('get-*')."""

    model_config = ConfigDict(extra="forbid")

    op: str = "*"
    kind: FaultKind
    method: str | None = None
    probability: float = Field(1.0, ge=0.0, le=1.0)
    after: int = Field(0, ge=0, description="skip the first n matching requests")
    times: int | None = Field(None, ge=0, description="max firings (None = unlimited)")
    for_seconds: float | None = Field(
        None, gt=0, description="fire only during the first n real seconds after the profile is set (a storm)"
    )
    code: int | None = Field(None, ge=100, le=599)
    message: str | None = None
    retry_after: float | str | None = None
    retry_after_ms: float | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    commit: bool = False
    delay_ms: float = Field(0.0, ge=0)
    jitter_ms: float = Field(0.0, ge=0)
    interval_ms: float = Field(300.0, ge=0)
    fields: dict[str, Any] | None = None
    status_value: str = "Queued"
    drop_fields: list[str] = Field(default_factory=list)
    job_status: Literal["ERROR", "UNKNOWN"] = "ERROR"
    hold: Literal["request", "response", "next"] = "request"
    hold_max_seconds: float = Field(120.0, gt=0, description="a hold nobody releases ends after this")

    def matches(self, operation_id: str, method: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.op == "*" or self.op == operation_id or fnmatch.fnmatchcase(operation_id, self.op)


class FaultProfile(BaseModel):
    """The whole fault configuration; POST /_emulator/faults replaces it atomically."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)
    rpm_cap: int | None = Field(None, ge=1)
    rpm_window_seconds: float = Field(60.0, gt=0, description="rpm_cap counts over this sliding window")
    max_concurrent_jobs: int | None = Field(None, ge=0)
    revoke_token_after: int | None = Field(None, ge=0)
    down_for_seconds: float | None = Field(None, ge=0)
    latency_ms: float = Field(0.0, ge=0)
    model_status_script: dict[str, list[str]] | None = None

    @classmethod
    def parse_spec(cls, spec: str) -> FaultProfile:
        """CLI/env form: JSON text, or '@path.json'."""
        text = Path(spec[1:]).read_text() if spec.startswith("@") else spec
        return cls.model_validate(json.loads(text))


@dataclass
class RateDecision:
    retry_after: int | None  # None: send no Retry-After header this time


@dataclass
class _RuleCounters:
    matched: int = 0
    fired: int = 0


@dataclass
class FaultEngine:
    """Runtime state of the active profile: counters, seeded RNG, windows. Reset on every set()."""

    profile: FaultProfile = field(default_factory=FaultProfile)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.set(self.profile)

    def set(self, profile: FaultProfile) -> None:
        with self._lock:
            self.profile = profile
            self._rng = random.Random(profile.seed)
            self._counters = [_RuleCounters() for _ in profile.rules]
            self._rpm_window: deque[float] = deque()
            self._rpm_rejections = 0
            self._authenticated_calls = 0
            self._script_cursor: dict[int, int] = {}
            self._set_at = time.monotonic()
            self._down_until = (
                time.monotonic() + profile.down_for_seconds if profile.down_for_seconds else 0.0
            )

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def token_revoked(self) -> bool:
        """Count one authenticated call; True once more than revoke_token_after calls were made."""
        with self._lock:
            limit = self.profile.revoke_token_after
            if limit is None:
                return False
            if self._authenticated_calls >= limit:
                return True
            self._authenticated_calls += 1
            return False

    def rate_limited(self) -> RateDecision | None:
        """Sliding real-time window (60 s unless rpm_window_seconds); only accepted requests occupy it."""
        with self._lock:
            cap = self.profile.rpm_cap
            if cap is None:
                return None
            now, window = time.monotonic(), self.profile.rpm_window_seconds
            while self._rpm_window and now - self._rpm_window[0] >= window:
                self._rpm_window.popleft()
            if len(self._rpm_window) < cap:
                self._rpm_window.append(now)
                return None
            self._rpm_rejections += 1
            # Bria documents Retry-After as "when present": alternate with and without it.
            if self._rpm_rejections % 2 == 1:
                return RateDecision(retry_after=max(1, math.ceil(window - (now - self._rpm_window[0]))))
            return RateDecision(retry_after=None)

    def select(self, operation_id: str, method: str) -> list[FaultRule]:
        """Rules that fire for this request, in profile order."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule, counters in zip(self.profile.rules, self._counters, strict=True):
                if not rule.matches(operation_id, method):
                    continue
                counters.matched += 1
                if counters.matched <= rule.after:
                    continue
                if rule.times is not None and counters.fired >= rule.times:
                    continue
                if rule.for_seconds is not None and time.monotonic() - self._set_at > rule.for_seconds:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                counters.fired += 1
                fired.append(rule)
        return fired

    def jitter(self, rule: FaultRule) -> float:
        """Delay in seconds for latency-like rules."""
        with self._lock:
            spread = self._rng.uniform(-rule.jitter_ms, rule.jitter_ms) if rule.jitter_ms else 0.0
        return max(0.0, rule.delay_ms + spread) / 1000.0

    def next_scripted_status(self, model_id: int) -> str | None:
        """model_status_script: each GET of the model pops the next status; the last one sticks."""
        script = self.profile.model_status_script
        if not script:
            return None
        statuses = script.get(str(model_id), script.get("*"))
        if not statuses:
            return None
        with self._lock:
            index = self._script_cursor.get(model_id, 0)
            self._script_cursor[model_id] = index + 1
        return statuses[min(index, len(statuses) - 1)]
