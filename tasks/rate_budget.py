"""One request budget per Bria token, shared by every flow and task, through a Prefect global concurrency limit.

Bria limits requests per minute per organization (10, 60, 100+ by plan). The client's governor paces one
process; three flows running at once (a nightly batch, an upload, the watcher) would each spend the whole
budget and collect 429s. So every client the tasks build also takes a ``rate_limit`` slot per request from
the global concurrency limit ``bria-api-<fingerprint>`` on the Prefect server (``limit_name``: 12 hex of the
token's sha256, never the token), created on first use from ``BRIA_REQUESTS_PER_MINUTE``, and resized when
that setting changed (processes that disagree about the plan are misconfigured: each resize is a warning).

Sizing (``spec_for``). A Prefect rate limit is a leaky bucket: ``limit`` slots draining at
``slot_decay_per_second``, so a 60 s window sees at most ``limit + 60 * decay`` slots. One request takes
``SLOTS_PER_REQUEST`` (100) slots, because the server floors each update's decay to whole slots and every
acquisition, granted or denied, is an update: with whole requests as slots a low plan would lose most of its
decay to flooring, with hundredths it loses about 2 %. The limit keeps 98 % of the plan per minute (3 % as
burst, the rest steady), a margin for the time between the grant and Bria counting the request (95 % with a
tenth as burst held batch generation to 0.82 of the plan: bench/RESULTS.md). A limit made by hand must count
100 slots per request too.

Without a Prefect server (no ``PREFECT_API_URL``: the CLI and the demo run on an ephemeral per-process one),
or when the server can't be reached or the limit can't be created, the in-process governor paces alone,
with one warning. Either way the in-process governor still reacts to a 429 (Retry-After pauses every caller
in the process, the rate is cut and restored gradually).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import time
import weakref
from dataclasses import dataclass

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.asyncio import rate_limit
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.logging import get_logger
from prefect.settings import get_current_settings

from bria_api import BriaSettings
from bria_api.governor import RateGovernor, governor_for

SLOTS_PER_REQUEST = 100  # hundredths of a request: the server's per-update flooring of the decay stays small
BURST_FRACTION = 0.03
BUDGET_FRACTION = 0.98  # of the plan, per window: the margin for grant-to-arrival jitter
_SETUP_TIMEOUT = 10.0
CREDIT_SECONDS = 1.0  # slots taken ahead are spent within this long (a window sees at most 1 s more)
_RETRY_SHARED_AFTER = 60.0  # after a failure, the in-process governor alone for this long, then try again
log = get_logger("bria.rate_budget")


@dataclass(frozen=True)
class RateLimitSpec:
    """A Prefect rate limit, in slots (``SLOTS_PER_REQUEST`` per request)."""

    limit: int
    slot_decay_per_second: float

    def requests_per_window(self, window_seconds: float = 60.0) -> float:
        """The most requests any window of this length can see (burst + steady)."""
        return (self.limit + self.slot_decay_per_second * window_seconds) / SLOTS_PER_REQUEST


def spec_for(requests: float, window_seconds: float = 60.0) -> RateLimitSpec:
    """Size a limit for ``requests`` per ``window_seconds`` (Bria counts per minute)."""
    burst = max(1, math.floor(requests * BURST_FRACTION))
    steady_per_second = max(requests * BUDGET_FRACTION - burst, requests * 0.5) / window_seconds
    return RateLimitSpec(burst * SLOTS_PER_REQUEST, steady_per_second * SLOTS_PER_REQUEST)


def limit_name(token: str) -> str:
    """``bria-api-<12 hex of sha256(token)>``: one budget per organization token; the token never appears."""
    return "bria-api-" + hashlib.sha256(token.encode()).hexdigest()[:12]


def shared_budget_configured() -> bool:
    """A Prefect server to share with: PREFECT_API_URL set (not the per-process ephemeral server)."""
    return bool(get_current_settings().api.url)


def window_seconds() -> float:
    """The window the plan's requests are counted over: Bria's minute unless an emulator compresses it."""
    return float(os.environ.get("BRIA_RATE_WINDOW_SECONDS") or 60.0)


async def ensure_limit(name: str, spec: RateLimitSpec) -> None:
    """Create the limit, or resize it when it differs from ``spec`` (reconciled with the server each time)."""
    async with get_client() as client:
        try:
            found = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another process created it just now
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=name, limit=spec.limit, slot_decay_per_second=spec.slot_decay_per_second
                    )
                )
            return
        if found.limit != spec.limit or not math.isclose(
            found.slot_decay_per_second, spec.slot_decay_per_second, rel_tol=1e-6
        ):
            log.warning(
                "resizing rate limit %s from %s slots + %.4g/s to %s + %.4g/s (BRIA_REQUESTS_PER_MINUTE changed?)",
                name,
                found.limit,
                found.slot_decay_per_second,
                spec.limit,
                spec.slot_decay_per_second,
            )
            await client.update_global_concurrency_limit(
                name,
                GlobalConcurrencyLimitUpdate(
                    limit=spec.limit, slot_decay_per_second=spec.slot_decay_per_second
                ),
            )


# (API URL, limit name, spec) -> (usable?, when to try again after a failure); reconciled once per process
_STATE: dict[tuple[str, str, RateLimitSpec], tuple[bool, float]] = {}


async def _shared_ready(name: str, spec: RateLimitSpec) -> bool:
    key = (str(get_current_settings().api.url), name, spec)
    ready, retry_at = _STATE.get(key, (False, 0.0))
    if ready or time.monotonic() < retry_at:
        return ready
    try:
        async with asyncio.timeout(_SETUP_TIMEOUT):
            await ensure_limit(name, spec)
    except Exception as exc:  # noqa: BLE001 - any failure means: pace in-process only, say so once
        _fall_back(key, f"the shared rate limit {name} is unavailable ({type(exc).__name__}: {exc})")
        return False
    _STATE[key] = (True, 0.0)
    return True


def _fall_back(key: tuple[str, str, RateLimitSpec], why: str) -> None:
    _STATE[key] = (False, time.monotonic() + _RETRY_SHARED_AFTER)
    log.warning("%s; pacing requests in this process only", why)


class _Credits:
    """This event loop's share of the budget: one acquisition at a time, each taking slots for ``batch``
    requests that are then spent locally for up to ``CREDIT_SECONDS`` (unspent ones lapse: budget left
    unused, never exceeded). A busy process thus calls Prefect a few times a second at most, not once per
    request. ``batch`` is a quarter of the burst, at most 32: one request per call on small plans, where a
    call (~40 ms) is nothing next to the seconds between requests.

    With batches of several requests, the next batch is requested in the background once half of the current
    one is spent, so a busy process does not stall every batch for a round trip to a loaded Prefect server
    (that stall halved upload throughput at 16 in flight)."""

    def __init__(self, name: str, spec: RateLimitSpec) -> None:
        self.name = name
        self.batch = max(1, min(32, spec.limit // SLOTS_PER_REQUEST // 4))
        self.left = 0
        self.lapse_at = 0.0
        self.lock = asyncio.Lock()  # FIFO: waiters are served in arrival order
        self._next: asyncio.Task[float] | None = None  # the batch being acquired ahead

    async def _acquire(self) -> float:
        await rate_limit(self.name, occupy=self.batch * SLOTS_PER_REQUEST, strict=True)
        return time.monotonic()

    def _prefetch(self) -> None:
        if self._next is None:
            self._next = asyncio.ensure_future(self._acquire())
            # a failure is seen by the next take(); never an "exception was never retrieved" warning
            self._next.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def take(self) -> None:
        async with self.lock:
            while self.left == 0 or time.monotonic() >= self.lapse_at:
                self._prefetch()
                assert self._next is not None
                try:
                    granted_at = await self._next
                finally:
                    self._next = None
                self.left, self.lapse_at = self.batch, granted_at + CREDIT_SECONDS
            self.left -= 1
            if self.batch > 1 and self.left <= self.batch // 2:
                self._prefetch()


_CREDITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, RateLimitSpec], _Credits]] = (
    weakref.WeakKeyDictionary()
)


def _credits(name: str, spec: RateLimitSpec) -> _Credits:
    per_loop = _CREDITS.setdefault(asyncio.get_running_loop(), {})
    if (name, spec) not in per_loop:
        per_loop[(name, spec)] = _Credits(name, spec)
    return per_loop[(name, spec)]


class SharedRateGovernor:
    """The in-process governor (Retry-After pauses, AIMD) plus one request's slots of the shared budget."""

    def __init__(self, local: RateGovernor, name: str, spec: RateLimitSpec) -> None:
        self.local = local
        self.name = name
        self.spec = spec

    async def acquire(self) -> None:
        await self.local.acquire()
        if not await _shared_ready(self.name, self.spec):
            return
        try:
            await _credits(self.name, self.spec).take()
        except Exception as exc:  # noqa: BLE001 - the server went away or the limit was deleted
            key = (str(get_current_settings().api.url), self.name, self.spec)
            _fall_back(key, f"rate limit {self.name}: {type(exc).__name__}: {exc}")

    def on_rate_limited(self, retry_after: float | None) -> None:
        self.local.on_rate_limited(retry_after)

    def on_success(self) -> None:
        self.local.on_success()


def governor_for_settings(settings: BriaSettings) -> RateGovernor | SharedRateGovernor:
    """The governor every task's client uses: shared through Prefect when a server is configured."""
    token = settings.require_token().get_secret_value()
    window = window_seconds()
    local = governor_for(token, settings.requests_per_minute * 60.0 / window)  # it counts per minute
    if not shared_budget_configured():
        return local
    return SharedRateGovernor(local, limit_name(token), spec_for(settings.requests_per_minute, window))
