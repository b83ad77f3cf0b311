"""One request-rate governor per token: a token bucket at the plan's requests per minute, with AIMD.

Bria limits requests per minute per organization. The bucket (aiolimiter) is sized so that no 60-second
window can exceed the budget: a burst of a tenth of it, then a steady rate of the remaining nine tenths.
A 429 cuts the rate multiplicatively (and a Retry-After pauses every caller sharing the token); successes
restore it additively, so recovery is gradual.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import Awaitable, Callable

from aiolimiter import AsyncLimiter

_BURST_FRACTION = 0.1
_DECREASE = 0.7
_RECOVERY_STEPS = 20  # successes needed to climb back from the floor to the full rate


class RateGovernor:
    """Paces requests of one token within one event loop."""

    def __init__(
        self,
        requests_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_rpm = float(requests_per_minute)
        self.floor_rpm = max(1.0, self.max_rpm / 20)
        self.rpm = self.max_rpm
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._limiter = self._make_limiter(self.rpm)

    @staticmethod
    def _make_limiter(rpm: float) -> AsyncLimiter:
        burst = max(1.0, rpm * _BURST_FRACTION)
        steady_per_second = (rpm - burst) / 60 if rpm > burst else rpm / 60
        return AsyncLimiter(burst, burst / steady_per_second)

    async def acquire(self) -> None:
        """Wait for a pause to end, then for a token."""
        while (delay := self._paused_until - self._clock()) > 0:
            await self._sleep(delay)
        await self._limiter.acquire()

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429: slow everybody down; honour Retry-After for all callers of this token."""
        if retry_after:
            self._paused_until = max(self._paused_until, self._clock() + retry_after)
        new_rpm = max(self.floor_rpm, self.rpm * _DECREASE)
        if new_rpm < self.rpm:
            self.rpm = new_rpm
            self._limiter = self._make_limiter(self.rpm)

    def on_success(self) -> None:
        if self.rpm < self.max_rpm:
            self.rpm = min(self.max_rpm, self.rpm + (self.max_rpm - self.floor_rpm) / _RECOVERY_STEPS)
            self._limiter = self._make_limiter(self.rpm)


# token fingerprint -> loop -> governor; asyncio primitives cannot be shared across event loops.
_GOVERNORS: dict[tuple[str, float], weakref.WeakKeyDictionary] = {}


def governor_for(token: str, requests_per_minute: float) -> RateGovernor:
    """The shared governor of this token (and budget) in the running event loop."""
    fingerprint = hashlib.sha256(token.encode()).hexdigest()[:16]
    per_loop = _GOVERNORS.setdefault((fingerprint, float(requests_per_minute)), weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    governor = per_loop.get(loop)
    if governor is None:
        governor = per_loop[loop] = RateGovernor(requests_per_minute)
    return governor
