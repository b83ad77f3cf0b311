"""Dataset versions: a folder changed since the dataset was completed becomes a draft clone holding only the
difference, trained as its own model; a re-run re-attaches to it."""

from __future__ import annotations

import json

import pytest
from prefect.client.orchestration import get_client

from bria_api import BriaClient
from bria_api.manifest import build_manifest
from flows.dataset import prepare_dataset
from flows.lifecycle import tailored_lifecycle
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams
from flows.versions import content_digest
from tests.imagegen import distinct_images

FAST = {"poll_initial_seconds": 0.2, "poll_max_seconds": 0.5}


def ops(emulator) -> dict[str, int]:
    return {op: v["requests"] for op, v in emulator.stats()["operations"].items()}


def delta(after: dict[str, int], before: dict[str, int], op: str) -> int:
    return after.get(op, 0) - before.get(op, 0)


@pytest.mark.slow  # 20-35 s: the slow phase keeps the default suite to a few minutes
async def test_changed_folder_becomes_a_new_version_with_only_the_difference(bria_env, image_dir, tmp_path):
    project = ProjectParams(project_name="Brand")
    dataset = DatasetParams(name="brand v1", images_dir=image_dir, caption_poll_seconds=0.1)
    first = await prepare_dataset(project, dataset)
    assert first.version is None

    removed = sorted(image_dir.iterdir())[0]
    removed.unlink()
    for i, data in enumerate(distinct_images(8, size=512)[6:]):  # two images the folder did not have
        (image_dir / f"new-{i}.png").write_bytes(data)
    digest = content_digest(build_manifest(image_dir))
    before = ops(bria_env)
    result = await tailored_lifecycle(
        project,
        dataset,
        TrainingParams(model_name="brand model", **FAST),
        samples=[PromptSpec(prompt="a mug", seed=1)],
        out_dir=tmp_path / "out",
    )
    after = ops(bria_env)
    assert [delta(after, before, op) for op in ("clone-dataset", "upload-image", "delete-image")] == [1, 2, 1]
    assert delta(after, before, "generate-visual-schema") == 0  # the clone inherits the schema
    assert result.dataset_id != first.dataset_id
    async with BriaClient() as bria:
        version = await bria.datasets.get(result.dataset_id, max_images=1)
        model = await bria.models.get(result.model_id)
        images = await bria.images.list(result.dataset_id)
    assert (version.name, version.status) == (f"brand v1 #{digest}", "completed")
    assert model.name == f"brand model #{digest}" and model.dataset_id == result.dataset_id
    assert len(images) == 7 and not any(removed.name in (i.image_name or "") for i in images)
    async with get_client() as prefect:
        diffs = [a for a in await prefect.read_artifacts() if a.key == "dataset-diff"]
    rows = json.loads(diffs[-1].data)
    assert sorted(r["change"] for r in rows) == ["added", "added", "removed"]
    assert [r["image"] for r in rows if r["change"] == "removed"][0].endswith(removed.name)

    # the same folder again: the version is found by name, nothing is cloned, sent or trained again
    again = await prepare_dataset(project, dataset)
    assert (again.dataset_id, again.version, again.uploaded) == (result.dataset_id, digest, 0)
    final = ops(bria_env)
    assert [delta(final, after, op) for op in ("clone-dataset", "upload-image", "delete-image")] == [0, 0, 0]
    assert bria_env.stats()["resources"]["datasets"] == 2
