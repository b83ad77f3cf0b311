"""One request budget per token for every process: a Prefect global concurrency limit (tasks/rate_budget.py).

The emulator caps requests per sliding window (``rpm_cap``, with ``rpm_window_seconds`` compressing Bria's
minute to a few seconds); ``BRIA_RATE_WINDOW_SECONDS`` compresses the clients' minute the same way.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import SecretStr

from bria_api import BriaClient, BriaSettings, RateLimitedError
from bria_api.governor import RateGovernor
from tasks import rate_budget
from tasks._common import bria_client
from tests.flows.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
CAP, WINDOW = 10, 4.0  # the emulator's cap: 10 requests per 4 s
PER_PROCESS = 6  # three processes ask for 18 requests at once: nearly twice the cap
KINDS = {"projects": "get-projects", "datasets": "get-datasets", "models": "get-models"}


@pytest.fixture
async def fresh_limit():
    """No shared limit for the test token before or after (other tests size it at their own rpm)."""
    name = rate_budget.limit_name(TOKEN)

    async def drop() -> None:
        async with get_client() as client:
            try:
                await client.delete_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                pass
        rate_budget._STATE.clear()

    await drop()
    yield name
    await drop()


async def _read_limit(name: str):
    async with get_client() as client:
        return await client.read_global_concurrency_limit_by_name(name)


def test_the_limit_keeps_every_minute_under_the_plan():
    for rpm in (10, 60, 100, 1000):
        spec = rate_budget.spec_for(rpm)
        assert 0.95 * rpm <= spec.requests_per_window(60) <= 0.98 * rpm + 1e-9, rpm
        assert spec.limit >= rate_budget.SLOTS_PER_REQUEST  # at least one request of burst
    name = rate_budget.limit_name(TOKEN)
    assert name.startswith("bria-api-") and TOKEN not in name


async def test_limit_is_created_on_first_use_and_follows_the_plan(bria_env, fresh_limit, monkeypatch):
    monkeypatch.setenv("BRIA_REQUESTS_PER_MINUTE", "60")
    async with bria_client(None) as bria:
        await bria.projects.list()
    made = await _read_limit(fresh_limit)
    assert (made.limit, made.slot_decay_per_second) == (100, pytest.approx(96.3333, rel=1e-4))  # 1 + 57.8/min
    monkeypatch.setenv("BRIA_REQUESTS_PER_MINUTE", "100")  # the plan changed: the limit follows
    async with bria_client(None) as bria:
        await bria.projects.list()
    resized = await _read_limit(fresh_limit)
    assert (resized.limit, resized.slot_decay_per_second) == (300, pytest.approx(158.3333, rel=1e-4))


async def test_without_a_reachable_server_the_process_paces_alone(bria_env, fresh_limit):
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):  # nothing listens on port 9
        async with bria_client(None) as bria:
            assert isinstance(await bria.projects.list(), list)
    assert bria_env.stats()["operations"]["get-projects"]["by_status"] == {"200": 1}
    with pytest.raises(ObjectNotFound):  # nothing was created anywhere
        await _read_limit(fresh_limit)


def _start_child(kind: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.flows.rate_budget_child", kind, str(PER_PROCESS)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow  # ~30 s on 2 cores: three Python processes import Prefect
@pytest.mark.timeout(180)
async def test_three_processes_share_one_budget_and_never_see_a_429(bria_env, fresh_limit):
    bria_env.set_faults({"rpm_cap": CAP, "rpm_window_seconds": WINDOW})
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "BRIA_REQUESTS_PER_MINUTE": str(CAP),
        "BRIA_RATE_WINDOW_SECONDS": str(WINDOW),
        "BRIA_MAX_RETRIES": "0",  # a 429 would fail the flow, not hide behind a retry
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
    }
    children = {kind: _start_child(kind, env) for kind in KINDS}
    try:
        for kind, child in children.items():  # every process inside its flow run, then all go at once
            line = await asyncio.to_thread(child.stdout.readline)
            assert line.strip() == "ready", f"{kind}: {line!r} {child.stderr.read()[-3000:]}"
        for child in children.values():
            child.stdin.write("go\n")
            child.stdin.flush()
        codes = {kind: await asyncio.to_thread(child.wait, 150) for kind, child in children.items()}
    finally:
        for child in children.values():
            child.kill() if child.poll() is None else None
    errors = {k: children[k].stderr.read()[-2000:] for k, code in codes.items() if code}
    assert not errors, errors
    log = [e for e in bria_env.requests() if e["op"] in KINDS.values()]
    assert [e["status"] for e in log].count(429) == 0
    assert len(log) == 3 * PER_PROCESS and {e["status"] for e in log} == {200}
    arrivals = sorted(e["arrived"] for e in log)
    busiest = max(sum(1 for t in arrivals if start <= t < start + WINDOW) for start in arrivals)
    print(
        f"3 processes x {PER_PROCESS} requests, cap {CAP}/{WINDOW:g}s: 0 x 429, busiest window {busiest}, "
        f"all done in {arrivals[-1] - arrivals[0]:.1f}s"
    )
    assert busiest <= CAP  # the emulator enforces it anyway; 0 x 429 says nobody even tried to exceed it
    limit = await _read_limit(fresh_limit)
    assert limit.limit == rate_budget.spec_for(CAP, WINDOW).limit  # the one the children created on demand


def test_the_same_demand_without_the_shared_budget_hits_the_cap(bria_env):
    """The control: three processes' worth of in-process governors alone overrun the cap at once."""
    bria_env.set_faults({"rpm_cap": CAP, "rpm_window_seconds": WINDOW})
    settings = BriaSettings(api_token=SecretStr(TOKEN), base_url=bria_env.url, max_retries=0)
    limited = []

    def one_process(kind: str) -> None:
        async def spend() -> None:
            governor = RateGovernor(CAP * 60 / WINDOW)  # what each process paces to on its own
            async with BriaClient(settings, governor=governor) as bria:
                results = await asyncio.gather(
                    *(getattr(bria, kind).list() for _ in range(PER_PROCESS)), return_exceptions=True
                )
            limited.extend(r for r in results if isinstance(r, RateLimitedError))

        asyncio.run(spend())

    threads = [threading.Thread(target=one_process, args=(kind,)) for kind in KINDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(limited) == 3 * PER_PROCESS - CAP
