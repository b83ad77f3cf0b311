"""Rows 1 and 2: a 429 storm with Retry-After in its three forms, and a quota that never clears.

Real time, real sleeps: the emulator logs when each request arrived and when each 429 left, so "never earlier
than Retry-After" is measured on the server's side, not inferred from the client's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from email.utils import formatdate, parsedate_to_datetime

import pytest

from bria_api import BriaClient, RateLimitedError
from bria_api.governor import RateGovernor
from tests.conftest import SleepRecorder
from tests.reliability.figures import figure

OPS = 96  # well above the 32 requests in flight that meet the storm before any 429 is back
STORM_SECONDS = 2.5


def _deadline(entry: dict) -> float:
    """Wall-clock time before which the client was told not to come back."""
    name, _, value = entry["retry_after"].partition(": ")
    if name == "retry-after-ms":
        return entry["answered"] + float(value) / 1000
    try:
        return entry["answered"] + float(value)
    except ValueError:
        return parsedate_to_datetime(value).timestamp()


def _early_returns(log: list[dict]) -> int:
    """Requests that came back for the same resource before its 429's Retry-After had passed."""
    early = 0
    for i, entry in enumerate(log):
        if entry["status"] != 429 or not entry["retry_after"]:
            continue
        later = [e for e in log[i + 1 :] if e["path"] == entry["path"] and e["arrived"] > entry["answered"]]
        early += bool(later) and later[0]["arrived"] < _deadline(entry)
    return early


class LowWaterGovernor(RateGovernor):
    """The production governor, remembering how far the storm pushed its rate down."""

    lowest = float("inf")

    def on_rate_limited(self, retry_after: float | None) -> None:
        super().on_rate_limited(retry_after)
        self.lowest = min(self.lowest, self.rpm)


def _peak_rps(arrivals: list[float]) -> int:
    arrivals = sorted(arrivals)
    return max(
        (sum(1 for t in arrivals[i:] if t < start + 1.0) for i, start in enumerate(arrivals)), default=0
    )


@pytest.mark.slow  # ~8 s each, real time
@pytest.mark.parametrize("form", ["seconds", "retry-after-ms", "http-date"])
async def test_row1_429_storm_retry_after_is_honoured_and_all_work_completes(emulator, settings, form):
    """Row 1: 80 % of calls get 429 for a few seconds; every op completes, none returns early."""
    storm = settings.model_copy(update={"requests_per_minute": 6000, "max_retries": 20})
    async with BriaClient(storm) as bria:
        ids = [
            (await bria.projects.create(f"p{i}", ip_medium="photography", ip_type="other")).id
            for i in range(OPS)
        ]
    rule: dict = {"op": "get-project-by-id", "kind": "status", "code": 429, "probability": 0.8}
    if form == "seconds":
        rule |= {"retry_after": 1, "for_seconds": STORM_SECONDS}
    elif form == "retry-after-ms":
        rule |= {"retry_after_ms": 400, "for_seconds": STORM_SECONDS}
    else:  # an absolute date (1 s resolution): the end of the storm
        end = math.ceil(time.time()) + 2
        rule |= {"retry_after": formatdate(end, usegmt=True), "for_seconds": end - time.time()}
    emulator.set_faults({"seed": 11, "rules": [rule]})
    started = time.time()
    governor = LowWaterGovernor(storm.requests_per_minute)
    async with BriaClient(storm, governor=governor, rng=random.Random(5)) as bria:
        fetched = await asyncio.gather(*(bria.projects.get(i) for i in ids))
    wall = time.time() - started
    log = [e for e in emulator.requests() if e["op"] == "get-project-by-id" and e["arrived"] >= started]
    limited = [e for e in log if e["status"] == 429]
    storm_arrivals = [e["arrived"] for e in log if e["arrived"] < started + STORM_SECONDS]
    early, amplification = _early_returns(log), len(log) / OPS
    figure(
        1,
        f"[{form}] {len(fetched)}/{OPS} ops complete; attempts {len(log)} (amplification {amplification:.2f}); "
        f"429s {len(limited)}; requests earlier than Retry-After {early}; peak {_peak_rps(storm_arrivals)} rps "
        f"during the storm; governor cut to {governor.lowest:.0f} of {governor.max_rpm:.0f} rpm, back to {governor.rpm:.0f}; "
        f"wall {wall:.1f}s",
    )
    assert [p.id for p in fetched] == ids
    assert limited and all(e["retry_after"] for e in limited)
    assert early == 0
    assert amplification <= 1.5
    assert governor.lowest < governor.max_rpm  # the rate was cut (x0.7 per 429)


async def test_row1_retry_after_over_the_cap_surfaces_without_sleeping(emulator, settings):
    """Row 1: Retry-After over the cap (120 s) raises RateLimitedError at once; no caller sleeps on it."""
    governor_sleeps = SleepRecorder()
    governor = RateGovernor(settings.requests_per_minute, sleep=governor_sleeps)
    client_sleeps = SleepRecorder()
    project_id = None
    async with BriaClient(settings, sleep=client_sleeps, governor=governor) as bria:
        project_id = (await bria.projects.create("p", ip_medium="photography", ip_type="other")).id
        emulator.set_faults(
            {"rules": [{"op": "get-projects", "kind": "status", "code": 429, "retry_after": 3600}]}
        )
        with pytest.raises(RateLimitedError) as info:
            await bria.projects.list()
        assert (await bria.projects.get(project_id)).id == project_id  # the next call is not held either
    slept = client_sleeps.calls + governor_sleeps.calls
    requests = emulator.stats()["operations"]["get-projects"]["requests"]
    figure(
        1,
        f"[over cap] Retry-After {info.value.retry_after:.0f}s > cap {settings.retry_after_cap:g}s: "
        f"RateLimitedError after {requests} request; longest sleep {max(slept, default=0):.3f}s",
    )
    assert info.value.retry_after == pytest.approx(3600, abs=1)
    assert requests == 1
    assert all(s < settings.retry_after_cap for s in slept)


async def test_row2_quota_that_never_clears_stops_within_the_budget(emulator, settings):
    """Row 2: 429 without Retry-After on every call: backoff with jitter, stop within the budget, Bria's words."""
    budget = 4.0
    quota = settings.model_copy(update={"operation_budget": budget, "max_retries": 50})
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "status", "code": 429}]})
    started = time.monotonic()
    async with BriaClient(quota, rng=random.Random(3)) as bria:
        with pytest.raises(RateLimitedError) as info:
            await bria.projects.list()
    elapsed = time.monotonic() - started
    attempts = emulator.stats()["operations"]["get-projects"]["requests"]
    figure(
        2,
        f"stopped after {elapsed:.2f}s of a {budget:g}s budget ({elapsed / budget:.0%}); "
        f"{attempts} attempts; message: {info.value.message[:70]!r}",
    )
    assert elapsed <= budget * 1.05
    assert 2 <= attempts <= quota.max_retries + 1
    assert "maximum allowed requests" in str(info.value)  # Bria's quota message, not a generic one
