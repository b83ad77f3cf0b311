"""Requests parked by ``hold`` faults until a test releases them: deterministic crash-injection points.

A test sets a hold rule, waits until ``/_emulator/stats`` shows the request parked (``holds.waiting``), kills
its client, then releases. ``request`` parks before the handler (nothing committed; a request whose client
has gone is then dropped unprocessed), ``response`` after it (committed, answer not sent yet), ``next`` parks
the first Bria request that follows this one's answer (the client has read the answer).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


class Holds:
    def __init__(self) -> None:
        self.waiting = 0
        self.total = 0
        self._armed: list[float] = []  # max seconds of each armed `next` hold
        self._release = asyncio.Event()

    def reset(self) -> None:
        self.release()
        self.total = 0
        self._armed.clear()

    async def park(self, max_seconds: float) -> None:
        """Wait until released (or ``max_seconds``, so a forgotten hold cannot hang a test run)."""
        event = self._release
        self.waiting += 1
        self.total += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max_seconds)
        finally:
            self.waiting -= 1

    def release(self) -> int:
        """Wake every parked request; returns how many there were."""
        released = self.waiting
        self._release.set()
        self._release = asyncio.Event()
        return released

    def arm_next(self, max_seconds: float) -> None:
        self._armed.append(max_seconds)

    def take_armed(self) -> float | None:
        """The max seconds of an armed `next` hold (consumed), or None."""
        return self._armed.pop(0) if self._armed else None

    def snapshot(self) -> dict[str, Any]:
        return {"waiting": self.waiting, "total": self.total, "armed": len(self._armed)}
