"""Polling cost: Bria API calls made by ``wait_for_training`` (default ``PollSchedule``: 30 s, x1.5, up to
300 s) while a 6 h emulated training runs. Goal: <= 120.

No 6 real hours: the task's sleeps are replaced by a fake one that moves the emulator's clock forward by the
requested interval (the emulator runs at time scale 1, so real time adds only the few seconds the run
takes). Everything else is the real task under a real Prefect server: HTTP polls, artifacts, events.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any
from unittest import mock

from prefect import flow

from bench._bria import start_model_training
from bench._common import BenchEmulator, Result, emulator, prefect_harness, request_counts, verdict

FULL = {"training_hours": 6.0}
QUICK = {"training_hours": 1.0}
GOAL = 120


class ClockSleep:
    """Stands in for the ``asyncio`` module inside ``tasks.training``: ``sleep`` advances the emulator clock."""

    def __init__(self, emu: BenchEmulator) -> None:
        self._emu = emu
        self.slept: list[float] = []

    async def sleep(self, seconds: float, result: Any = None) -> Any:
        self.slept.append(seconds)
        self._emu.runtime().clock.advance(seconds)
        await asyncio.sleep(0)  # still yield to the loop, as a real sleep would
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@flow(name="bench-wait-for-training", flow_run_name="bench-wait-{model_id}")
async def wait_flow(model_id: int) -> str:
    from tasks.training import wait_for_training

    model = await wait_for_training(model_id)
    return str(getattr(model.status, "value", model.status))


def scheduled_polls(model_id: int, training_seconds: float) -> int:
    """Polls the default schedule alone implies (same jitter seed as the task): a cross-check."""
    from bria_api.polling import PollSchedule

    elapsed, polls = 0.0, 1  # the first poll happens right away
    for interval in PollSchedule().intervals(random.Random(model_id)):
        elapsed += interval
        polls += 1
        if elapsed >= training_seconds:
            return polls
    raise AssertionError("unreachable")


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    import tasks.training

    p = QUICK if quick else FULL
    training_seconds = p["training_hours"] * 3600
    with prefect_harness(), emulator(training_seconds=training_seconds) as emu:
        model_id = start_model_training(emu.url)
        before = request_counts(emu)
        sleeper = ClockSleep(emu)
        started = time.perf_counter()
        with mock.patch.object(tasks.training, "asyncio", sleeper):
            status = asyncio.run(wait_flow(model_id))
        seconds = time.perf_counter() - started
        after = request_counts(emu)
    calls = {
        op: after.get(op, 0) - before.get(op, 0) for op in after if after.get(op, 0) != before.get(op, 0)
    }
    total = sum(calls.values())
    expected = scheduled_polls(model_id, training_seconds)
    return Result(
        name="polling cost",
        goal=f"≤ {GOAL} API calls",
        figure=(
            f"{total} calls ({calls.get('get-model', 0)} get-model) over a {p['training_hours']:g} h training "
            f"(schedule alone predicts {expected}); status {status}"
        ),
        ratio=total / GOAL,
        status=verdict(total <= GOAL and status == "Completed"),
        details={
            "params": p,
            "calls": calls,
            "emulated_hours_slept": round(sum(sleeper.slept) / 3600, 2),
            "longest_interval_s": round(max(sleeper.slept, default=0), 1),
            "real_seconds": round(seconds, 2),
        },
        notes=[
            "Method: fake sleep. tasks.training's `asyncio` is replaced (unittest.mock) by a shim whose sleep() "
            "advances the emulator clock by the requested interval; polls are real HTTP calls counted by the "
            "emulator. The ratio column is calls / 120.",
        ],
    )
