"""One request-rate governor per token: a token bucket at the plan's requests per minute, with AIMD.

Bria limits requests per minute per organization. The bucket (aiolimiter) is sized so that no 60-second
window can exceed the budget: a burst of a twentieth of it, then a steady rate of the other 95 % (the smaller
the burst, the closer the steady rate gets to the plan: a tenth as burst held batch generation to 0.82 of it).
The bucket is built once and never rebuilt: a fresh bucket starts full, so rebuilding it on a rate change
would hand out a new burst exactly when the server says its window is full.

A 429 cuts the rate multiplicatively (and a Retry-After pauses every caller sharing the token); successes
restore it additively, so recovery is gradual. Below the plan's rate, requests are also spaced at least
60/rpm seconds apart, starting at once (no burst after a 429).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiolimiter import AsyncLimiter

_BURST_FRACTION = 0.05
_DECREASE = 0.7
_RECOVERY_STEPS = 20  # successes needed to climb back from the floor to the full rate


class Governor(Protocol):
    """What the transport asks before and tells after each authenticated request.

    ``RateGovernor`` paces one process; a caller can pass its own (e.g. one that also draws on a budget
    shared by several processes) to ``BriaClient(governor=...)``.
    """

    async def acquire(self) -> None: ...

    def on_rate_limited(self, retry_after: float | None) -> None: ...

    def on_success(self) -> None: ...


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
        self._next_slot = 0.0  # earliest start of the next request while the rate is cut
        burst = max(1.0, self.max_rpm * _BURST_FRACTION)
        steady_per_second = (self.max_rpm - burst) / 60 if self.max_rpm > burst else self.max_rpm / 60
        self._bucket = AsyncLimiter(burst, burst / steady_per_second)

    async def acquire(self) -> None:
        """Wait for a pause to end, then for a token, then (when the rate is cut) for a free slot."""
        while (delay := self._paused_until - self._clock()) > 0:
            await self._sleep(delay)
        await self._bucket.acquire()
        if self.rpm < self.max_rpm:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 60 / self.rpm
            if slot > now:
                await self._sleep(slot - now)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429: slow everybody down; honour Retry-After for all callers of this token."""
        now = self._clock()
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)
        self.rpm = max(self.floor_rpm, self.rpm * _DECREASE)
        # the server's window is full: the next request waits one slot at the cut rate
        self._next_slot = max(self._next_slot, self._paused_until, now + 60 / self.rpm)

    def on_success(self) -> None:
        if self.rpm < self.max_rpm:
            self.rpm = min(self.max_rpm, self.rpm + (self.max_rpm - self.floor_rpm) / _RECOVERY_STEPS)


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
