"""inference.sh tasks as the `inferencesh` SDK 0.36 sees them: integer statuses, logs, events, webhooks.

A task's life is a pure function of the emulated clock (like Bria's v2 jobs): its timeline of frames is
computed once at creation and cut short by a cancel. The stream replays every frame the client has not seen
yet, so even a task that finished between two reads shows its whole progression, as the real stream does.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from bria_emulator.webhooks import RETRY_DELAYS, is_loopback_url

logger = logging.getLogger("bria_emulator")

# TaskStatus of inferencesh 0.36 (types.py); COMPLETED is 10 there, 9 in the SDK's older numbering.
RECEIVED, QUEUED, DISPATCHED, PREPARING, SERVING, SETTING_UP, RUNNING = 1, 2, 3, 4, 5, 6, 7
CANCELLING, UPLOADING, COMPLETED, FAILED, CANCELLED, REJECTED = 8, 9, 10, 11, 12, 13
TERMINAL = {COMPLETED, FAILED, CANCELLED, REJECTED}
STATUS_NAMES = {
    1: "received",
    2: "queued",
    3: "dispatched",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "cancelling",
    9: "uploading",
    10: "completed",
    11: "failed",
    12: "cancelled",
    13: "rejected",
}
# Emulated seconds after creation at which a worker picks the task up (before RUNNING).
SETUP = (
    (0.1, QUEUED),
    (0.2, DISPATCHED),
    (0.3, PREPARING),
    (0.5, SERVING),
    (0.7, SETTING_UP),
    (1.0, RUNNING),
)
LOG_TASK = 4  # TaskLogType.TASK


class Outcome(BaseModel):
    """How the next task ends (queued by tests through POST /_emulator/inferencesh/outcomes)."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["completed", "failed", "rejected"] = "completed"
    error: str | None = None
    seconds: float | None = Field(None, gt=0, description="emulated duration; default generation_seconds")


@dataclass
class Frame:
    at: float  # emulated seconds
    status: int
    log: str | None = None


@dataclass
class Task:
    id: str
    app: str
    input: dict[str, Any]
    output: dict[str, Any]
    created_at: float
    frames: list[Frame]
    error: str = ""
    webhook: str | None = None
    metadata: dict[str, Any] | None = None
    webhook_queued: bool = False
    cancel_requested: bool = False

    def seen(self, now: float) -> list[Frame]:
        return [f for f in self.frames if f.at <= now]

    def status(self, now: float) -> int:
        return self.seen(now)[-1].status

    def ended_at(self) -> float | None:
        last = self.frames[-1]
        return last.at if last.status in TERMINAL else None

    def cancel(self, now: float) -> None:
        """CANCELLING now, CANCELLED once the worker lets go (a fraction of a second later)."""
        self.frames = [f for f in self.frames if f.at <= now]
        self.frames += [Frame(now, CANCELLING), Frame(now + 0.05, CANCELLED)]
        self.error, self.cancel_requested = "", True

    def view(self, clock: Any, now: float, upto: int | None = None) -> dict[str, Any]:
        """The task as the API returns it, as of `now` (or as of its `upto`-th frame)."""
        frames = self.seen(now) if upto is None else self.frames[: upto + 1]
        status = frames[-1].status
        logs = [
            {
                "id": f"{self.id}-log-{i}",
                "created_at": clock.iso_z(f.at),
                "task_id": self.id,
                "log_type": LOG_TASK,
                "content": base64.b64encode(f.log.encode()).decode(),  # Go's []byte: base64 in JSON
            }
            for i, f in enumerate(x for x in frames if x.log is not None)
        ]
        return {
            "id": self.id,
            "created_at": clock.iso_z(self.created_at),
            "updated_at": clock.iso_z(frames[-1].at),
            "app_id": self.app,
            "status": status,
            "input": self.input,
            "output": self.output if status == COMPLETED else None,
            "error": self.error if status in (FAILED, REJECTED) else "",
            "logs": logs,
            "events": [
                {
                    "id": f"{self.id}-ev-{i}",
                    "event_time": clock.iso_z(f.at),
                    "task_id": self.id,
                    "status": f.status,
                }
                for i, f in enumerate(x for x in frames if x.log is None)
            ],
            "webhook": self.webhook,
            "metadata": self.metadata,
            "session_id": None,
        }

    def webhook_body(self, clock: Any) -> dict[str, Any]:
        """The documented payload: {id, status, output, error, session_id, created_at, updated_at}."""
        full = self.view(clock, float("inf"))
        keys = ("id", "status", "output", "error", "session_id", "created_at", "updated_at")
        return {k: full[k] for k in keys}


def timeline(start: float, seconds: float, steps: int, outcome: Outcome) -> list[Frame]:
    """RECEIVED → setup → RUNNING with one log line per step → UPLOADING → COMPLETED (or FAILED midway)."""
    if outcome.status == "rejected":
        return [Frame(start, REJECTED)]
    seconds = max(seconds, 2.0)
    frames = [Frame(start, RECEIVED)] + [Frame(start + at, status) for at, status in SETUP]
    frames.append(Frame(start + 1.0, RUNNING, "loading FIBO Lite"))
    run_end = start + seconds - 0.5
    shown = steps if outcome.status == "completed" else max(1, steps // 2)
    for k in range(1, shown + 1):
        frames.append(Frame(start + 1.0 + (run_end - start - 1.0) * k / steps, RUNNING, f"step {k}/{steps}"))
    if outcome.status == "failed":
        frames.append(Frame(frames[-1].at + 0.01, FAILED))
        return frames
    frames += [Frame(run_end, UPLOADING), Frame(start + seconds, COMPLETED)]
    return frames


class TaskStore:
    """Tasks, pending uploads, scripted outcomes and webhook records of one emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._background: set[asyncio.Task[object]] = set()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.tasks: dict[str, Task] = {}
            self.uploads: dict[str, str] = {}  # file id -> signature expected on the PUT
            self.outcomes: deque[Outcome] = deque()
            self.webhook_records: list[dict[str, Any]] = []
            self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"{next(self._ids):04d}{uuid.uuid4().hex[:20]}"

    def next_outcome(self) -> Outcome:
        with self._lock:
            return self.outcomes.popleft() if self.outcomes else Outcome()

    def snapshot(self, clock: Any, now: float) -> list[dict[str, Any]]:
        return [
            {
                "id": t.id,
                "status": STATUS_NAMES[t.status(now)],
                "cancel_requested": t.cancel_requested,
                "input": t.input,
                "webhook": t.webhook,
            }
            for t in self.tasks.values()
        ]

    # --- webhooks: POSTed once a task reaches a terminal state (no signature scheme is documented) ---
    def dispatch_due(self, clock: Any) -> None:
        now = clock.now()
        for task in list(self.tasks.values()):
            ended = task.ended_at()
            if task.webhook and not task.webhook_queued and ended is not None and ended <= now:
                task.webhook_queued = True
                job = asyncio.create_task(self._deliver(task.webhook, task.webhook_body(clock)))
                self._background.add(job)
                job.add_done_callback(self._background.discard)

    async def _deliver(self, url: str, payload: dict[str, Any]) -> None:
        record: dict[str, Any] = {"task_id": payload["id"], "url": url, "body": payload, "attempts": []}
        with self._lock:
            self.webhook_records.append(record)
        if not is_loopback_url(url):
            record["skipped"] = "webhook is not a loopback URL"  # offline: nothing leaves the machine
            return
        async with httpx.AsyncClient(timeout=10.0) as client:
            for delay in (0.0, *RETRY_DELAYS):
                await asyncio.sleep(delay)
                try:
                    response = await client.post(
                        url,
                        content=json.dumps(payload).encode(),
                        headers={"Content-Type": "application/json"},
                    )
                    record["attempts"].append(response.status_code)
                    if 200 <= response.status_code < 300:
                        record["delivered"] = True
                        return
                except httpx.HTTPError as exc:
                    record["attempts"].append(type(exc).__name__)

    async def pump(self, clock: Any, every: float) -> None:
        """Background delivery of due webhooks (a `wait=False` caller never reads the task again)."""
        while True:
            try:
                self.dispatch_due(clock)
            except Exception:  # keep pumping whatever one task does
                logger.exception("inference.sh webhook pump iteration failed")
            await asyncio.sleep(every)

    async def shutdown(self) -> None:
        for job in list(self._background):
            job.cancel()
