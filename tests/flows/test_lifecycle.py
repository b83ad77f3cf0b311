"""The lifecycle flows against the emulator over HTTP, under a real (test-harness) Prefect server."""

from __future__ import annotations

import json

import httpx
import pytest
from PIL import Image
from prefect.client.orchestration import get_client

from bria_api import BriaValidationError
from bria_api.polling import TrainingFailed, TrainingStopped, TrainingWaitTimeout
from flows.dataset import prepare_dataset
from flows.lifecycle import tailored_lifecycle
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams
from flows.training import train_model
from tests.flows.events import events_about

FAST = {"poll_initial_seconds": 0.2, "poll_max_seconds": 0.5}


def params(image_dir, **training):
    return (
        ProjectParams(project_name="Brand"),
        DatasetParams(name="brand v1", images_dir=image_dir, caption_poll_seconds=0.1),
        TrainingParams(model_name="brand model", **{**FAST, **training}),
    )


def resources(emulator) -> dict:
    return emulator.stats()["resources"]


async def test_full_lifecycle(bria_env, image_dir, tmp_path):
    project, dataset, training = params(image_dir)
    out = tmp_path / "out"
    result = await tailored_lifecycle(
        project, dataset, training, samples=[PromptSpec(prompt="a mug", seed=5)], out_dir=out
    )
    assert len(result.images) == 1 and result.images[0].exists()
    Image.open(result.images[0]).verify()
    sidecar = json.loads(result.images[0].with_suffix(".json").read_text())
    assert sidecar["model_id"] == str(result.model_id) and sidecar["seed"] == 5 and sidecar["flow_run_id"]
    stats = bria_env.stats()
    assert {k: stats["resources"][k] for k in ("projects", "datasets", "models")} == {
        "projects": 1,
        "datasets": 1,
        "models": 1,
    }
    assert stats["trainings_started"] == 1
    assert stats["datasets"][str(result.dataset_id)]["images"] == 6
    assert stats["datasets"][str(result.dataset_id)]["duplicate_contents"] == 0
    async with get_client() as prefect:
        keys = {a.key for a in await prefect.read_artifacts()}
    m = result.model_id
    assert {
        "lint-report",
        "dataset-summary",
        f"training-{m}",
        f"training-timeline-{m}",
        f"gallery-model-{m}",
    } <= keys
    want = {"bria.model.training.started", "bria.model.training.completed"}
    assert want <= {e.event for e in await events_about(f"bria.model.{m}", want)}


async def test_rerun_after_crash_mid_upload_uploads_only_the_missing(bria_env, image_dir):
    project, dataset, _ = params(image_dir)
    bria_env.set_faults({"rules": [{"op": "upload-image", "kind": "status", "code": 400, "after": 3}]})
    with pytest.raises(Exception):  # noqa: B017 - the 4th upload fails for good: the run dies mid-upload
        await prepare_dataset(project, dataset)
    bria_env.set_faults({})
    prepared = await prepare_dataset(project, dataset)
    assert (prepared.uploaded, prepared.skipped) == (3, 3)
    stats = bria_env.stats()
    assert stats["datasets"][str(prepared.dataset_id)] | {"bulk_attempts": 0} == {
        "images": 6,
        "duplicate_contents": 0,
        "bulk_attempts": 0,
    }
    assert resources(bria_env)["projects"] == 1 and resources(bria_env)["datasets"] == 1
    assert stats["operations"]["generate-visual-schema"]["requests"] == 1  # the schema was not paid twice


async def test_rerun_after_training_started_reattaches(bria_env, image_dir):
    project, dataset, _ = params(image_dir)
    prepared = await prepare_dataset(project, dataset)
    impatient = TrainingParams(model_name="brand model", max_wait_hours=0.0005, **FAST)  # gives up after ~2 s
    # the training stays InProgress until told otherwise (a loaded machine must not let it finish in time)
    bria_env.set_faults({"model_status_script": {"*": ["InProgress"]}})
    with pytest.raises(TrainingWaitTimeout, match="re-run to re-attach"):
        await train_model(prepared.project_id, prepared.dataset_id, impatient)
    bria_env.set_faults({"model_status_script": {"*": ["Completed"]}})  # it finishes while nobody watches
    model = await train_model(
        prepared.project_id, prepared.dataset_id, TrainingParams(model_name="brand model", **FAST)
    )
    assert model.status == "Completed"
    assert bria_env.stats()["trainings_started"] == 1 and resources(bria_env)["models"] == 1


@pytest.mark.parametrize("final,error", [("Failed", TrainingFailed), ("Stopped", TrainingStopped)])
async def test_remote_failed_or_stopped_fails_the_flow(bria_env, image_dir, final, error):
    project, dataset, training = params(image_dir)
    prepared = await prepare_dataset(project, dataset)
    bria_env.set_faults({"model_status_script": {"*": ["InProgress", "InProgress", final]}})
    with pytest.raises(error, match=final):
        await train_model(prepared.project_id, prepared.dataset_id, training)


async def test_flow_timeout_stops_the_remote_training(bria_env, image_dir):
    project, dataset, _ = params(image_dir)
    prepared = await prepare_dataset(project, dataset)
    slow = TrainingParams(model_name="brand model", **FAST)
    httpx.post(f"{bria_env.url}/_emulator/clock", json={"time_scale": 0.001})  # the training cannot finish
    try:
        with pytest.raises(Exception):  # noqa: B017 - Prefect's flow TimeoutError
            await train_model.with_options(timeout_seconds=3)(prepared.project_id, prepared.dataset_id, slow)
    finally:
        httpx.post(f"{bria_env.url}/_emulator/clock", json={"time_scale": 3600})
    bria_env.advance(3600)
    models = httpx.get(f"{bria_env.url}/v1/tailored-gen/models", headers={"api_token": bria_env.token}).json()
    assert [m["status"] for m in models] == ["Stopped"]


async def test_lint_errors_fail_before_anything_is_created(bria_env, image_dir):
    for extra in sorted(image_dir.iterdir())[4:]:
        extra.unlink()  # 4 images: below Bria's minimum of 5
    (image_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    project, dataset, _ = params(image_dir)
    with pytest.raises(BriaValidationError) as info:
        await prepare_dataset(project, dataset)
    assert "broken.png" in str(info.value)
    assert bria_env.stats()["mutating_requests"] == 0
