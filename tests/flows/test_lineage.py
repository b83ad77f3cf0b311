"""Lineage read back from the Prefect API: folder manifest -> dataset -> model (-> checkpoint) -> images."""

from __future__ import annotations

import json
import time

import pytest
from prefect import flow
from pydantic import SecretStr

from bria_api import BriaClient, BriaSettings
from bria_api.manifest import build_manifest
from bria_api.models import TrainingParameters
from flows.lifecycle import tailored_lifecycle
from flows.params import PromptSpec
from tasks.lineage import digest_of_manifest, lineage_of, record_model
from tasks.promotion import read_promoted
from tests.api_setup import completed_dataset
from tests.flows.conftest import TOKEN
from tests.flows.events import events_about
from tests.flows.test_gallery import GOLDEN, answer_when_paused, no_alias  # noqa: F401 - a fixture
from tests.flows.test_lifecycle import params

MADE = "prefect.asset.materialization.succeeded"


async def materialized(key: str, since: float) -> set[str]:
    """The upstream asset keys of ``key``'s materialization that happened after ``since``."""

    def mine(events):
        return [e for e in events if e.event == MADE and e.occurred.timestamp() >= since]

    events = mine(await events_about(key, {MADE}, until=mine))
    assert events, f"no materialization of {key}"
    return {r.id for e in events for r in e.related if r.role == "asset"}


@pytest.mark.slow  # 20-35 s: the slow phase keeps the default suite to a few minutes
@pytest.mark.usefixtures("no_alias")
async def test_images_link_back_to_the_folder_they_came_from(bria_env, image_dir, tmp_path):
    """One lifecycle with a golden gallery: its images, the samples', all trace back to the folder; the
    approval at the end promotes the model."""
    since = time.time()
    project, dataset, training = params(image_dir)
    golden = tmp_path / "golden.json"
    golden.write_text(json.dumps({**GOLDEN, "prompts": GOLDEN["prompts"][:1]}))
    result = await answer_when_paused(
        lambda: tailored_lifecycle(
            project,
            dataset,
            training,
            samples=[PromptSpec(prompt="a mug", seed=5)],
            out_dir=tmp_path / "out",
            golden_prompts_file=golden,
        ),
        {"approve": True, "reason": "first model"},
    )
    assert result.promotion == "approved" and (await read_promoted()).model_id == result.model_id
    [render] = (tmp_path / "out" / "gallery" / f"model-{result.model_id}").glob("golden-*.json")
    digest = digest_of_manifest(build_manifest(image_dir))
    dataset_key, model_key = f"bria://datasets/{result.dataset_id}", f"bria://models/{result.model_id}"
    sidecar = json.loads(result.images[0].with_suffix(".json").read_text())
    assert (sidecar["manifest_digest"], sidecar["dataset_id"], sidecar["model_id"]) == (
        digest,
        result.dataset_id,
        str(result.model_id),
    )
    assert sidecar["lineage"] == [f"bria://manifests/{digest}", dataset_key, model_key]
    assert await materialized(dataset_key, since) == {f"bria://manifests/{digest}"}
    assert await materialized(model_key, since) == {dataset_key}
    assert await materialized(f"bria://images/{sidecar['request_id']}", since) == {model_key}
    golden_sidecar = json.loads(render.read_text())
    assert golden_sidecar["lineage"] == sidecar["lineage"]
    assert await materialized(f"bria://images/{golden_sidecar['request_id']}", since) == {model_key}


async def test_an_expert_model_links_its_checkpoint(bria_env):
    since = time.time()
    settings = BriaSettings(api_token=SecretStr(TOKEN), base_url=bria_env.url, requests_per_minute=100_000)
    async with BriaClient(settings) as bria:
        dataset_id = await completed_dataset(bria, "expert", "expert v1")
        model = await bria.models.create("expert model", dataset_id, training_mode="expert")
        await bria.models.start_training(
            model.id, TrainingParameters(total_training_steps=1000, checkpoint_interval=500)
        )
        bria_env.advance(8 * 3600)
        model = await bria.models.get(model.id)

    @flow
    async def after_training():
        await record_model(model)
        return await lineage_of(model.id)

    lineage = await after_training()
    step = model.active_model_version
    assert step not in (None, "default") and lineage.checkpoint_step == step
    checkpoint = f"bria://models/{model.id}/checkpoints/{step}"
    assert lineage.source().key == checkpoint and lineage.dataset_id == dataset_id
    assert await materialized(checkpoint, since) == {f"bria://models/{model.id}"}
