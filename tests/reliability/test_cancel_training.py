"""Row 16, the SIGKILL case: a run killed outright while its model trains leaves the training running; the
orphan reaper's next pass stops it (the run still says Running but sends no heartbeat: it is silent).

SIGTERM and the flow timeout are covered by tests/flows/test_cancel.py, a UI/API cancel through a real
server and worker by tests/reliability/test_prefect_server.py.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from flows.reaper import reap_orphans
from tasks.registry import read_record
from tests.reliability.conftest import TOKEN
from tests.reliability.figures import figure
from tests.reliability.processes import FlowProcess, wait_until
from tests.reliability.test_crash_resume import _lifecycle_parameters

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.timeout(600)]


def _models(emulator) -> list[dict]:
    return httpx.get(f"{emulator.url}/v1/tailored-gen/models", headers={"api_token": TOKEN}).json()


def _recorded(model_id: int):
    return asyncio.run(read_record(model_id))


def test_sigkill_during_training_then_the_reaper_stops_it(flow_bria, brand_dir, tmp_path):
    httpx.post(f"{flow_bria.url}/_emulator/clock", json={"time_scale": 0.001})  # the training cannot end
    try:
        run = FlowProcess(tmp_path / "killed.log").go(
            {"flow": "lifecycle", "parameters": _lifecycle_parameters(brand_dir, tmp_path / "out")}
        )
        try:
            [model] = wait_until(
                "the training to start",
                lambda: [m for m in _models(flow_bria) if m["status"] == "InProgress"],
            )
            owner = wait_until("the run to record itself as owner", lambda: _recorded(model["id"]))
        finally:
            run.kill()
        assert [m["status"] for m in _models(flow_bria)] == ["InProgress"]  # nobody stopped it
        started = time.monotonic()
        report = asyncio.run(reap_orphans(grace_minutes=0))
        flow_bria.advance(30)  # Bria takes a moment to go from Stopping to Stopped
        stopped_after = time.monotonic() - started
    finally:
        httpx.post(f"{flow_bria.url}/_emulator/clock", json={"time_scale": 3600})
    assert report == [
        {
            "model": model["id"],
            "reason": f"owner run {owner.flow_run_id} is SILENT",
            "action": report[0]["action"],
        }
    ]
    assert [m["status"] for m in _models(flow_bria)] == ["Stopped"]
    figure(
        16,
        f"SIGKILL while training: trainings left running after the reaper's pass 0/1; reaper pass to "
        f"stop_training {stopped_after:.1f} s (+ Bria's Stopping -> Stopped)",
    )
