"""Caption review: prepare_dataset pauses after captioning; edits are saved before the dataset is completed."""

from __future__ import annotations

import asyncio

import pytest
from prefect.flow_runs import aresume_flow_run

import flows.approval
from bria_api import BriaClient, BriaValidationError
from flows.dataset import prepare_dataset
from flows.params import DatasetParams, ProjectParams
from flows.review import CaptionEdit, CaptionReview, changed_captions
from tests.flows.anchors import paused_run

EDITED = '{"subject": "a ceramic mug", "style": "edited by a person"}'


async def test_reviewed_caption_is_saved_then_the_dataset_completed(bria_env, image_dir, monkeypatch):
    monkeypatch.setattr(flows.approval, "PAUSE_POLL_SECONDS", 0.2)
    project = ProjectParams(project_name="Brand")
    dataset = DatasetParams(name="brand v1", images_dir=image_dir, caption_poll_seconds=0.1)
    running = asyncio.create_task(prepare_dataset(project, dataset, review_captions=True))
    run = await paused_run("prepare-dataset", running)
    async with BriaClient() as bria:
        (proj,) = await bria.projects.find_by_name("Brand")
        (ds,) = await bria.datasets.list_by_project(proj.id)
        assert ds.status == "draft"  # not completed while the review waits
        images = await bria.images.list(ds.id)
    first = images[0]
    await aresume_flow_run(
        run.id,
        run_input={"captions": [{"image_id": first.id, "image_name": first.image_name, "caption": EDITED}]},
    )
    prepared = await running
    async with BriaClient() as bria:
        saved = await bria.images.get(prepared.dataset_id, first.id)
        after = await bria.datasets.get(prepared.dataset_id, max_images=1)
    assert (saved.caption, saved.caption_source) == (EDITED, "manual")
    assert after.status == "completed"
    assert bria_env.stats()["operations"]["update-image-caption"]["requests"] == 1


def test_bad_edits_are_all_named_before_any_caption_is_written():
    original = {1: '{"a": 1}', 2: '{"b": 2}', 3: '{"c": 3}'}
    answer = CaptionReview(
        captions=[
            CaptionEdit(image_id=1, image_name="one.png", caption='{"a": 1}'),  # unchanged: skipped
            CaptionEdit(image_id=2, image_name="two.png", caption="not json"),
            CaptionEdit(image_id=3, image_name="three.png", caption="[1, 2]"),
            CaptionEdit(image_id=9, image_name="nine.png", caption="{}"),
        ]
    )
    with pytest.raises(BriaValidationError) as info:
        changed_captions(original, answer)
    message = str(info.value)
    assert "two.png: caption is not valid JSON" in message
    assert "three.png: caption must be a JSON object" in message
    assert "nine.png: image 9 is not in this dataset" in message
    ok = CaptionReview(captions=[CaptionEdit(image_id=2, caption='{"b": 3}')])
    assert [e.image_id for e in changed_captions(original, ok)] == [2]
