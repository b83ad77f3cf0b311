"""Cost estimate and approval before training: the lifecycle pauses for a typed decision in the Prefect UI."""

from __future__ import annotations

import asyncio
import json

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.exceptions import CancelledRun
from prefect.flow_runs import aresume_flow_run

import flows.approval
from flows.approval import DatasetFacts, TrainingDecision, approve_training
from flows.lifecycle import tailored_lifecycle
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams
from tasks.ledger import read_ledger
from tests.flows.anchors import paused_run

FAST = {"poll_initial_seconds": 0.2, "poll_max_seconds": 0.5}
SAMPLE = [PromptSpec(prompt="a mug", seed=5)]


@pytest.fixture
def lifecycle_args(bria_env, image_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.approval, "PAUSE_POLL_SECONDS", 0.2)  # a resumed run notices at once
    monkeypatch.setenv("BRIA_PRICE_TRAINING", "25")
    monkeypatch.setenv("BRIA_PRICE_TAILORED_IMAGE", "0.04")
    return (
        ProjectParams(project_name="Brand"),
        DatasetParams(name="brand v1", images_dir=image_dir, caption_poll_seconds=0.1),
        TrainingParams(model_name="brand model", **FAST),
    ), {"samples": SAMPLE, "out_dir": tmp_path / "out"}


async def _artifact(key: str, run_id) -> object:
    async with get_client() as prefect:
        found = [a for a in await prefect.read_artifacts() if a.key == key and a.flow_run_id == run_id]
    assert found, f"no {key} artifact on run {run_id}"
    return found[0]


async def test_rejected_training_is_never_started(bria_env, lifecycle_args):
    args, kwargs = lifecycle_args
    running = asyncio.create_task(tailored_lifecycle(*args, **kwargs, require_approval=True))
    run = await paused_run("tailored-lifecycle", running)
    estimate = await _artifact("training-estimate", run.id)
    assert estimate.description == "25.04 USD"
    assert "6 images, 0 errors" in estimate.data  # the lint summary is shown with the estimate

    await aresume_flow_run(run.id, run_input={"approve": False, "reason": "over this month's budget"})
    with pytest.raises(CancelledRun, match="over this month's budget"):
        await running
    async with get_client() as prefect:
        state = (await prefect.read_flow_run(run.id)).state
    assert state.is_cancelled() and state.message == "training rejected: over this month's budget"
    stats = bria_env.stats()
    assert stats["trainings_started"] == 0 and stats["resources"]["models"] == 0
    assert [r["kind"] for r in await read_ledger(run.id)] == ["generate-visual-schema"]


@pytest.mark.slow  # 20-35 s: the slow phase keeps the default suite to a few minutes
async def test_approved_training_starts_once_and_is_not_asked_again(bria_env, lifecycle_args):
    args, kwargs = lifecycle_args
    running = asyncio.create_task(tailored_lifecycle(*args, **kwargs, require_approval=True))
    run = await paused_run("tailored-lifecycle", running)
    await aresume_flow_run(run.id, run_input={"approve": True, "reason": "fits the budget"})
    result = await running
    assert bria_env.stats()["trainings_started"] == 1
    rows = await read_ledger(run.id)
    assert [r["kind"] for r in rows] == [
        "generate-visual-schema",
        "start-training",
        "image-generate-tailored",
    ]
    assert [r["estimate"] for r in rows] == ["unknown", "25.00 USD", "0.04 USD"]
    sidecar = json.loads(result.images[0].with_suffix(".json").read_text())
    assert rows[2]["request id"] == sidecar["request_id"] and rows[1]["model"] == str(result.model_id)
    decision = await _artifact("training-decision", run.id)
    assert decision.description == "approved: fits the budget"

    # a re-run (e.g. after a crash once approved) reconciles first: the training already started, so
    # nobody is asked again (a pause would time out after 1 s and fail)
    facts = DatasetFacts(dataset_id=result.dataset_id, dataset_name="brand v1", images=6)
    again = await ask_again(result.project_id, facts, "brand model")
    assert again.approve and "already started" in again.reason


@flow
async def ask_again(project_id: int, facts: DatasetFacts, model_name: str) -> TrainingDecision:
    return await approve_training(project_id, facts, model_name, 1, require_approval=True, timeout_seconds=1)
