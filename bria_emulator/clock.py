"""Injectable emulated clock: real monotonic time scaled, plus a manual offset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Emulated seconds since start = real elapsed x time_scale + offset.

    Every state transition (training, captions, jobs) is computed lazily from `now()`,
    so `advance()` lets tests jump hours ahead without sleeping.
    """

    def __init__(self, time_scale: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base_real = monotonic()
        self._base_emulated = 0.0
        self._time_scale = time_scale
        # Wall-clock anchor so timestamps look like real ones and move with emulated time.
        self._epoch = datetime.now(UTC).replace(tzinfo=None)

    @property
    def time_scale(self) -> float:
        return self._time_scale

    def now(self) -> float:
        """Emulated seconds elapsed since the clock was created."""
        with self._lock:
            return self._base_emulated + (self._monotonic() - self._base_real) * self._time_scale

    def advance(self, seconds: float) -> float:
        """Jump emulated time forward (never backwards)."""
        if seconds < 0:
            raise ValueError("advance_seconds must be >= 0")
        with self._lock:
            self._base_emulated += seconds
        return self.now()

    def set_time_scale(self, time_scale: float) -> None:
        """Change the speed without a jump: rebase on the current emulated time."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        current = self.now()
        with self._lock:
            self._base_real = self._monotonic()
            self._base_emulated = current
            self._time_scale = time_scale

    def real_seconds_for(self, emulated_seconds: float) -> float:
        """How long (real seconds) an emulated duration takes at the current scale."""
        return emulated_seconds / self._time_scale

    def datetime_at(self, emulated: float) -> datetime:
        return self._epoch + timedelta(seconds=emulated)

    def iso_z(self, emulated: float) -> str:
        """Project/dataset/image style: '2024-05-26T12:00:00Z'."""
        return self.datetime_at(emulated).strftime("%Y-%m-%dT%H:%M:%SZ")

    def iso_micro(self, emulated: float) -> str:
        """Model/checkpoint style: '2025-08-20T06:06:05.849402' (no zone)."""
        return self.datetime_at(emulated).strftime("%Y-%m-%dT%H:%M:%S.%f")

    def snapshot(self) -> dict[str, float]:
        return {"now": self.now(), "time_scale": self._time_scale}
