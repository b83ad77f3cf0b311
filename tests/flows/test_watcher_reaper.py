"""The watcher (progress and resume events for waiting runs) and the reaper (orphaned trainings)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prefect import flow

from bria_api import BriaClient
from flows.dataset import prepare_dataset
from flows.params import DatasetParams, ProjectParams
from flows.reaper import reap_orphans
from flows.watcher import watch_trainings
from tasks.registry import TrainingRecord, read_record, save_record
from tasks.training import start_training
from tests.flows.events import events_about


@flow
def doomed() -> None:
    raise RuntimeError("the owner run dies")


async def _training(image_dir, name="m", start: bool = True) -> int:
    prepared = await prepare_dataset(
        ProjectParams(project_name="Brand"),
        DatasetParams(name="d", images_dir=image_dir, caption_poll_seconds=0.1),
    )
    async with BriaClient() as bria:
        model = await bria.models.create(name, prepared.dataset_id)
        if start:
            await bria.models.start_training(model.id)
    return model.id


def _status(emulator, model_id: int) -> str:
    r = httpx.get(f"{emulator.url}/v1/tailored-gen/models/{model_id}", headers={"api_token": emulator.token})
    return r.json()["status"]


def _slow_clock(emulator, scale: float) -> None:
    httpx.post(f"{emulator.url}/_emulator/clock", json={"time_scale": scale})


async def test_watcher_reports_progress_then_emits_completion_for_the_owner(bria_env, image_dir):
    _slow_clock(bria_env, 0.001)
    try:
        model_id = await _training(image_dir)
        owner = "0b8f6d8e-0000-4000-8000-00000000abcd"
        await save_record(TrainingRecord(model_id=model_id, flow_run_id=owner, started_at=datetime.now(UTC)))
        [row] = await watch_trainings()
        assert row["status"] == "InProgress" and row["action"] == "waiting"
        bria_env.advance(7 * 3600)
        [row] = await watch_trainings()
        assert row["action"] == "emitted bria.model.training.completed"
        assert await read_record(model_id) is None  # done: nobody waits any more
        assert await watch_trainings() == []
    finally:
        _slow_clock(bria_env, 3600)

    def for_owner(events) -> list:
        return [
            e
            for e in events
            if e.event == "bria.model.training.completed"
            and e.related
            and e.related[0].id == f"prefect.flow-run.{owner}"
        ]

    events = await events_about(f"bria.model.{model_id}", {"bria.model.training.completed"}, until=for_owner)
    assert for_owner(events)  # the owner comes first among the related resources: ResumeFlowRun resumes it


async def test_watcher_reports_a_stall_once(bria_env, image_dir):
    _slow_clock(bria_env, 0.001)
    try:
        model_id = await _training(image_dir)
        long_ago = datetime.now(UTC) - timedelta(hours=9)
        await save_record(TrainingRecord(model_id=model_id, started_at=long_ago, expected_seconds=5 * 3600))
        assert (await watch_trainings())[0]["action"] == "emitted bria.model.training.stalled"
        assert (await watch_trainings())[0]["action"] == "waiting"
    finally:
        _slow_clock(bria_env, 3600)


@pytest.mark.slow  # 20-35 s: the slow phase keeps the default suite to a few minutes
async def test_reaper_stops_trainings_whose_owner_died(bria_env, image_dir):
    _slow_clock(bria_env, 0.001)
    try:
        owned = await _training(image_dir, "owned")
        unregistered = await _training(image_dir, "someone-else-console")  # started outside bria-flows
        lost = await _training(image_dir, "lost-owner", start=False)
        await start_training(lost)  # started by bria-flows, but its run never registered (crashed at once)
        await events_about(f"bria.model.{lost}", {"bria.model.training.started"})
        dead = doomed(return_state=True).state_details.flow_run_id
        await save_record(
            TrainingRecord(
                model_id=owned, flow_run_id=str(dead), started_at=datetime.now(UTC) - timedelta(hours=1)
            )
        )
        report = await reap_orphans(dry_run=True, grace_minutes=0)
        assert [r["action"] for r in report] == ["would stop (dry run)"] * 2
        assert _status(bria_env, owned) == _status(bria_env, lost) == "InProgress"
        report = await reap_orphans(grace_minutes=0)
        assert sorted(r["model"] for r in report) == sorted([owned, lost])
        bria_env.advance(120)
        assert _status(bria_env, owned) == _status(bria_env, lost) == "Stopped"
        assert _status(bria_env, unregistered) == "InProgress"  # not ours: untouched by default
    finally:
        _slow_clock(bria_env, 3600)


async def test_every_record_is_found_among_more_variables_than_one_page(bria_env):
    """The server answers at most 200 variables per call: 201 records behind other variables are all read
    (reading "all variables" once returned the first 200 of them, and the reaper missed a killed run's training)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import VariableCreate

    from tasks.registry import PREFIX, read_records

    others = [f"aaa-unrelated-{i:02d}" for i in range(20)]  # sorted before the records
    records = [TrainingRecord(model_id=990_000 + i, started_at=datetime.now(UTC)) for i in range(201)]
    async with get_client() as client:
        try:
            for name in others:
                await client.create_variable(VariableCreate(name=name, value=1))
            for r in records:  # one call each (Variable.aset reads first): 200+ writes stay quick
                await client.create_variable(
                    VariableCreate(name=r.variable_name, value=r.model_dump(mode="json"))
                )
            found = {r.model_id for r in await read_records()}
            assert {r.model_id for r in records} <= found
        finally:
            for name in others + [f"{PREFIX}{r.model_id}" for r in records]:
                with contextlib.suppress(Exception):
                    await client.delete_variable_by_name(name)
