"""Rows 4, 12 and 13: waiting for a training while Bria is down, ends it remotely, stalls or flaps.

Polling runs for real (``wait_for_training``, the polling-mode task) with its schedule and tolerances scaled
down from minutes to fractions of a second; the emulator's model status script decides what each poll sees.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from bria_api.polling import PollSchedule, TrainingFailed, TrainingUnreachable, TrainingWaitTimeout
from flows.params import TrainingParams
from flows.training import train_model
from tasks.training import wait_for_training
from tests.flows.events import events_about
from tests.reliability.conftest import TOKEN, completed_dataset, training_model
from tests.reliability.figures import figure

pytestmark = pytest.mark.usefixtures("prefect_harness")

SCHEDULE = PollSchedule(initial=0.1, maximum=0.4, factor=1.5, jitter=0.1)


async def _artifacts(key: str, since: float) -> list:
    async with get_client() as prefect:
        found = await prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    return [a for a in found if a.created.timestamp() >= since]


def _model_reads(emulator, model_id: int) -> list[dict]:
    return sorted(
        (r for r in emulator.requests() if r["op"] == "get-model" and r["path"].endswith(f"/{model_id}")),
        key=lambda r: r["arrived"],
    )


async def test_row4_outage_shorter_than_tolerance_is_ridden_out(flow_bria, monkeypatch):
    model_id = await training_model(flow_bria)
    monkeypatch.setenv("BRIA_MAX_RETRIES", "0")  # each poll is one attempt: the poll schedule is the backoff
    outage = 2.0
    flow_bria.set_faults({"model_status_script": {str(model_id): ["InProgress"]}})
    waiting = asyncio.create_task(wait_for_training(model_id, SCHEDULE, outage_tolerance_seconds=5 * outage))
    while not _model_reads(flow_bria, model_id):  # Bria goes down once the watcher has seen the training
        await asyncio.sleep(0.02)
    flow_bria.set_faults(
        {"down_for_seconds": outage, "model_status_script": {str(model_id): ["InProgress", "Completed"]}}
    )
    model = await waiting
    assert model.status == "Completed"
    reads = _model_reads(flow_bria, model_id)
    refused = [r for r in reads if r["status"] is None]
    gaps = [b["arrived"] - a["arrived"] for a, b in zip(refused, refused[1:], strict=False)]
    assert [r["status"] for r in reads] == [200] + [None] * len(refused) + [200, 200]  # rode it out
    assert min(gaps) >= SCHEDULE.initial * (1 - SCHEDULE.jitter) - 0.01  # never faster than the schedule
    figure(
        4,
        f"API down {outage:.0f}s (scaled from 5 min; poll cap {SCHEDULE.maximum}s, tolerance {5 * outage:.0f}s): "
        f"survived; poll attempts during outage {len(refused)} (outage / poll cap = "
        f"{outage / SCHEDULE.maximum:.0f}), shortest gap {min(gaps):.2f}s (no hot loop)",
    )


async def test_row4_outage_longer_than_tolerance_fails_cleanly(flow_bria, monkeypatch):
    model_id = await training_model(flow_bria)
    monkeypatch.setenv("BRIA_MAX_RETRIES", "0")
    tolerance = 0.8
    flow_bria.set_faults({"down_for_seconds": 30.0})
    started = time.monotonic()
    with pytest.raises(
        TrainingUnreachable, match=rf"model {model_id}: Bria unreachable .* re-run to re-attach"
    ):
        await wait_for_training(model_id, SCHEDULE, outage_tolerance_seconds=tolerance)
    failed_after = time.monotonic() - started
    reads = _model_reads(flow_bria, model_id)
    assert reads and all(r["status"] is None for r in reads)  # gave up during the outage, on the tolerance
    assert not [r for r in flow_bria.requests() if r["op"] == "stop-training"]  # the training goes on
    figure(
        4,
        f"outage longer than the tolerance ({tolerance}s): failed cleanly after {failed_after:.2f}s "
        f"({len(reads)} attempts), TrainingUnreachable names the model and says re-run to re-attach; "
        f"training left running",
    )


@pytest.mark.parametrize("final", ["Failed", "Stopped"])
async def test_row12_remote_failed_or_stopped_fails_the_flow(flow_bria, final):
    project_id, dataset_id = await completed_dataset(flow_bria)
    polls_until_terminal = 3
    flow_bria.set_faults(
        {"model_status_script": {"*": ["InProgress"] * (polls_until_terminal - 1) + [final]}}
    )
    training = TrainingParams(model_name="brand model", poll_initial_seconds=0.1, poll_max_seconds=0.2)
    state = await train_model(project_id, dataset_id, training, return_state=True)
    assert state.is_failed() and final in state.message
    with pytest.raises(TrainingFailed, match=final):
        await state.result()
    (model,) = httpx.get(f"{flow_bria.url}/v1/tailored-gen/models", headers={"api_token": TOKEN}).json()
    assert model["status"] == final
    reads = _model_reads(flow_bria, model["id"])
    started_at = next(r["arrived"] for r in flow_bria.requests() if r["op"] == "start-training")
    polls = [r for r in reads if r["arrived"] > started_at]
    assert len(polls) == polls_until_terminal  # polls after the terminal status: 0
    assert not [r for r in flow_bria.requests() if r["op"] == "stop-training"]
    figure(
        12,
        f"training ended {final} remotely: flow Failed ({state.message!r}); polls after terminal status "
        f"{len(polls) - polls_until_terminal}",
    )


async def test_row13_stall_alarm_then_hard_timeout_without_stopping(flow_bria):
    model_id = await training_model(flow_bria)
    flow_bria.set_faults({"model_status_script": {str(model_id): ["InProgress"]}})  # never ends
    expected, hard = 0.4, 1.6
    since = time.time()
    started = time.monotonic()
    with pytest.raises(TrainingWaitTimeout, match=rf"model {model_id} still InProgress.*re-attach"):
        await wait_for_training(
            model_id, PollSchedule(initial=0.1, maximum=0.2), max_wait_seconds=hard, expected_seconds=expected
        )
    gave_up_after = time.monotonic() - started
    events = await events_about(
        f"bria.model.{model_id}",
        {"bria.model.training.stalled"},
        until=lambda evs: any(e.occurred.timestamp() >= since for e in evs),
    )
    stalls = [
        e for e in events if e.event == "bria.model.training.stalled" and e.occurred.timestamp() >= since
    ]
    assert len(stalls) == 1  # one alarm, not one per poll
    latency = stalls[0].payload["elapsed"] - 1.5 * expected
    (alarm,) = await _artifacts(f"training-stalled-{model_id}", since)
    assert "not stopped" in alarm.data
    reads = _model_reads(flow_bria, model_id)
    assert not [r for r in flow_bria.requests() if r["op"] == "stop-training"]
    figure(
        13,
        f"stall (InProgress past ETA x1.5 = {1.5 * expected:.1f}s): alarm event + artifact {latency:.2f}s after "
        f"the threshold (poll cap 0.2s); kept waiting to the hard timeout {hard}s, gave up after "
        f"{gave_up_after:.2f}s ({len(reads)} polls); stop requests 0",
    )


async def test_row13_flapping_status_is_followed_not_mistaken_for_an_end(flow_bria):
    model_id = await training_model(flow_bria)
    script = ["InProgress", "Created", "InProgress", "Created", "InProgress", "Completed"]
    flow_bria.set_faults({"model_status_script": {str(model_id): script}})
    since = time.time()
    model = await wait_for_training(model_id, PollSchedule(initial=0.05, maximum=0.1))
    assert model.status == "Completed"
    assert len(_model_reads(flow_bria, model_id)) == len(script)  # no extra poll, none skipped
    (timeline,) = await _artifacts(f"training-timeline-{model_id}", since)
    assert [row["status"] for row in json.loads(timeline.data)] == script  # each change recorded once
    assert not await _artifacts(f"training-stalled-{model_id}", since)
    figure(
        13, f"status flapping {' -> '.join(script)}: followed to Completed, {len(script)} polls, 0 false ends"
    )
