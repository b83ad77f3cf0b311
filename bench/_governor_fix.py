"""The rate-governor fix proposed in RESULTS.md, as a drop-in for the batch benchmark's "after" run.

Investigation only (``python -m bench.batch_generation --governor-fix``): production code is unchanged.
``bria_api.governor.RateGovernor`` rebuilds its ``AsyncLimiter`` on every rate change, and a new limiter
starts with a full bucket: a 429 (the server's window is full) hands out a fresh burst at once, so does
every success while the rate recovers, and callers already queued on the old limiter keep being released
by it too. This keeps one bucket whose rate changes in place; a 429 empties it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator
from unittest import mock

from bria_api.governor import _DECREASE, _RECOVERY_STEPS, RateGovernor


class InPlaceGovernor(RateGovernor):
    """Same AIMD policy and window guarantee (burst = 10 % of the budget, the rest as a steady rate)."""

    def __init__(self, requests_per_minute: float) -> None:
        super().__init__(requests_per_minute)
        self._tokens = self._capacity()
        self._stamp = self._clock()
        self._queue = asyncio.Lock()  # FIFO: waiters are served in arrival order

    def _capacity(self) -> float:
        return max(1.0, self.rpm * 0.1)

    def _per_second(self) -> float:
        capacity = self._capacity()
        return (self.rpm - capacity) / 60 if self.rpm > capacity else self.rpm / 60

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity(), self._tokens + (now - self._stamp) * self._per_second())
        self._stamp = now

    async def acquire(self) -> None:
        while (delay := self._paused_until - self._clock()) > 0:
            await self._sleep(delay)
        async with self._queue:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self._per_second())

    def on_rate_limited(self, retry_after: float | None) -> None:
        if retry_after:
            self._paused_until = max(self._paused_until, self._clock() + retry_after)
        self._refill()
        self._tokens = 0.0  # the server's window is full: no burst now
        self.rpm = max(self.floor_rpm, self.rpm * _DECREASE)

    def on_success(self) -> None:
        if self.rpm < self.max_rpm:
            self._refill()
            self.rpm = min(self.max_rpm, self.rpm + (self.max_rpm - self.floor_rpm) / _RECOVERY_STEPS)


_per_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _governor_for(token: str, requests_per_minute: float) -> RateGovernor:
    loop = asyncio.get_running_loop()
    if loop not in _per_loop:
        _per_loop[loop] = InPlaceGovernor(requests_per_minute)
    return _per_loop[loop]


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """Every client of this process uses the in-place governor (one per event loop, as in production)."""
    with mock.patch("bria_api.transport.governor_for", _governor_for):
        yield
