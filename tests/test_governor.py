"""The per-token rate governor: never more than the plan's budget in any minute; AIMD on 429."""

from __future__ import annotations

import asyncio

from bria_api.governor import _BURST_FRACTION, RateGovernor, governor_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_budget_is_never_exceeded_in_a_sliding_minute():
    # aiolimiter reads the loop clock, so measure with the loop's own time over a small, fast budget.
    governor = RateGovernor(1200)  # 20/s: a burst, then the rest of the budget steadily
    burst = 1200 * _BURST_FRACTION
    steady = (1200 - burst) / 60
    loop = asyncio.get_running_loop()
    stamps = []
    for _ in range(int(burst) + 20):
        await governor.acquire()
        stamps.append(loop.time())
    window = [t for t in stamps if t - stamps[0] <= 0.5]
    assert len(window) <= burst + steady * 0.5 + 1  # burst + half a second of steady rate
    assert stamps[-1] - stamps[0] >= 20 / steady * 0.9


async def test_aimd_cuts_on_429_and_recovers_gradually():
    governor = RateGovernor(60)
    governor.on_rate_limited(None)
    assert governor.rpm == 60 * 0.7
    governor.on_rate_limited(None)
    assert governor.rpm < 60 * 0.7
    for _ in range(3):
        governor.on_success()
    assert 60 * 0.49 < governor.rpm < 60
    for _ in range(100):
        governor.on_success()
    assert governor.rpm == 60


async def test_retry_after_pauses_every_caller():
    fake = FakeTime()
    governor = RateGovernor(6000, clock=fake.clock, sleep=fake.sleep)
    governor.on_rate_limited(5.0)
    await governor.acquire()
    assert fake.now >= 5.0


async def test_one_governor_per_token_and_budget():
    assert governor_for("token-a", 60) is governor_for("token-a", 60)
    assert governor_for("token-a", 60) is not governor_for("token-b", 60)


async def test_a_429_hands_out_no_new_burst():
    # Regression: rebuilding the bucket on a rate change started a full one, releasing a burst right after
    # the server said its window was full (898 extra 429s in the batch benchmark).
    fake = FakeTime()
    governor = RateGovernor(120, clock=fake.clock, sleep=fake.sleep)
    governor.on_rate_limited(None)
    starts = []
    for _ in range(5):
        await governor.acquire()
        starts.append(fake.now)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert starts[0] >= 60 / governor.rpm * 0.99  # even the first waits one slot
    assert min(gaps) >= 60 / governor.rpm * 0.99  # then one per slot at the cut rate: no burst
    governor.on_success()
    assert governor.rpm > 120 * 0.7
