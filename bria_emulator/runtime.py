"""The per-app container every route reaches through `request.app.state.runtime`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from bria_emulator.clock import Clock
from bria_emulator.config import EmulatorConfig
from bria_emulator.faults import FaultEngine
from bria_emulator.files import FileStore
from bria_emulator.holds import Holds
from bria_emulator.state import Store
from bria_emulator.stats import Stats
from bria_emulator.webhooks import WebhookDispatcher

logger = logging.getLogger("bria_emulator")
WEBHOOK_POLL_SECONDS = 0.1


@dataclass
class Runtime:
    config: EmulatorConfig
    clock: Clock
    token: str = field(repr=False)
    store: Store = field(default_factory=Store)
    files: FileStore = field(default_factory=FileStore)
    faults: FaultEngine = field(default_factory=FaultEngine)
    stats: Stats = field(default_factory=Stats)
    webhooks: WebhookDispatcher = field(default_factory=WebhookDispatcher)
    holds: Holds = field(default_factory=Holds)
    on_reset: list[Callable[[], None]] = field(default_factory=list)  # other emulated APIs (inference.sh)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)  # random seeds are reproducible per emulator seed
        self._tasks: set[asyncio.Task[object]] = set()

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> Runtime:
        runtime = cls(config=config, clock=Clock(config.time_scale), token=config.resolved_token())
        runtime.faults.set(config.faults)
        return runtime

    def reset(self) -> None:
        """Clear state, stats, files, webhook records, faults and holds (the clock keeps running)."""
        self.store.reset()
        self.files.clear()
        self.stats.reset()
        self.webhooks.clear()
        self.faults.set(type(self.faults.profile)())
        self.holds.reset()
        self.rng = random.Random(self.config.seed)
        for hook in self.on_reset:
            hook()

    def base_url(self, request: Request) -> str:
        return (self.config.public_url or str(request.base_url)).rstrip("/")

    def file_url(self, request: Request, file_id: str) -> str:
        return f"{self.base_url(request)}/_emulator/files/{file_id}"

    def random_seed(self) -> int:
        return self.rng.randrange(0, 2_147_483_648)

    # --- webhook pump: the only background work; everything else is computed lazily on read ---
    async def webhook_pump(self) -> None:
        while True:
            try:
                self.dispatch_due_webhooks()
            except Exception:  # keep pumping whatever one job does
                logger.exception("webhook pump iteration failed")
            await asyncio.sleep(WEBHOOK_POLL_SECONDS)

    def dispatch_due_webhooks(self) -> None:
        now = self.clock.now()
        for job in list(self.store.jobs.values()):
            if job.webhook_url and not job.webhook_queued and job.done(now):
                job.webhook_queued = True
                task = asyncio.create_task(self.webhooks.deliver(job.webhook_url, job.body(now), self.token))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime
