"""Polling a training without Prefect: adaptive intervals, change detection, ETA. Used by the tasks layer."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from bria_api.errors import BriaError
from bria_api.models import ModelStatus, TailoredModel

TYPICAL_TRAINING_SECONDS = 5 * 3600.0  # Bria: "typically 4-6 hours" (or 2-4 h in start_training's text)


class PollSchedule(BaseModel):
    """How often to ask Bria: ``initial`` seconds, growing by ``factor`` up to ``maximum``, jittered."""

    initial: float = Field(default=30.0, gt=0, description="First interval, seconds")
    maximum: float = Field(default=300.0, gt=0, description="Longest interval, seconds")
    factor: float = Field(default=1.5, ge=1.0, description="Growth per poll")
    jitter: float = Field(default=0.1, ge=0.0, le=0.5, description="± fraction of each interval")

    def intervals(self, rng: random.Random | None = None):
        rng = rng or random.Random()
        interval = self.initial
        while True:
            yield interval * (1 + rng.uniform(-self.jitter, self.jitter))
            interval = min(self.maximum, interval * self.factor)


class TrainingFailed(BriaError):
    """Bria reports the training Failed."""

    def __init__(self, model_id: int, status: str) -> None:
        super().__init__(f"Bria reports model {model_id} training {status}")
        self.model_id = model_id
        self.status = status


class TrainingStopped(TrainingFailed):
    """The training was stopped (by us or someone else): a failure, never a success."""


class TrainingWaitTimeout(BriaError):
    """Still training after the maximum wait; a later run can re-attach by model id."""

    def __init__(self, model_id: int, waited: float, status: str) -> None:
        super().__init__(
            f"model {model_id} still {status} after {waited / 3600:.1f} h of waiting; re-run to re-attach to it"
        )
        self.model_id = model_id


class TrainingUnreachable(BriaError):
    """Bria could not be reached for longer than the outage tolerance. The training goes on at Bria's side."""

    def __init__(self, model_id: int, unreachable_seconds: float, cause: BaseException) -> None:
        super().__init__(
            f"model {model_id}: Bria unreachable for {unreachable_seconds:.1f}s, longer than the outage "
            f"tolerance; the training goes on at Bria's side: re-run to re-attach to it (last error: {cause})"
        )
        self.model_id = model_id


@dataclass
class TrainingProgress:
    """What a watcher knows about one training, updated at each poll."""

    model_id: int
    expected_seconds: float = TYPICAL_TRAINING_SECONDS
    started_at: float = field(default_factory=time.time)
    status: str | None = None
    polls: int = 0
    changes: int = 0

    def observe(self, model: TailoredModel) -> bool:
        """Record a poll; True when the status changed."""
        self.polls += 1
        new = str(getattr(model.status, "value", model.status))
        changed = new != self.status
        if changed:
            self.changes += 1
        self.status = new
        return changed

    @property
    def elapsed(self) -> float:
        return max(0.0, time.time() - self.started_at)

    @property
    def fraction(self) -> float:
        if self.status == ModelStatus.COMPLETED.value:
            return 1.0
        return min(0.99, self.elapsed / self.expected_seconds)

    @property
    def eta_seconds(self) -> float:
        return max(0.0, self.expected_seconds - self.elapsed)

    @property
    def stalled(self) -> bool:
        return self.status == ModelStatus.IN_PROGRESS.value and self.elapsed > 1.5 * self.expected_seconds

    def describe(self) -> str:
        return f"model {self.model_id}: {self.status}, {self.elapsed / 60:.0f} min elapsed" + (
            f", ETA {self.eta_seconds / 60:.0f} min" if self.status == ModelStatus.IN_PROGRESS.value else ""
        )


def raise_for_terminal(model: TailoredModel) -> bool:
    """True when the training completed; raises on Failed or Stopped; False while still running."""
    status = model.known_status
    if status is ModelStatus.COMPLETED:
        return True
    if status is ModelStatus.STOPPED:
        raise TrainingStopped(model.id, status.value)
    if status is ModelStatus.FAILED:
        raise TrainingFailed(model.id, status.value)
    return False
