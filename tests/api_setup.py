"""Set-up shared by tests that need a completed dataset on the emulator, made straight through the API."""

from __future__ import annotations

from bria_api import BriaClient
from tests.imagegen import distinct_images


async def completed_dataset(bria: BriaClient, project_name: str, dataset_name: str) -> int:
    """A project and a completed 5-image dataset with a visual schema; returns the dataset id."""
    project = await bria.projects.create(project_name, ip_medium="photography", ip_type="other")
    dataset = await bria.datasets.create(project.id, dataset_name)
    await bria.datasets.update(dataset.id, visual_schema='{"style": "studio"}')
    for i, data in enumerate(distinct_images(5, size=320)):
        await bria.images.upload(dataset.id, data, image_name=f"img-{i}.png")
    await bria.datasets.complete(dataset.id)
    return dataset.id


async def started_models(bria: BriaClient, dataset_id: int, count: int) -> list[int]:
    """``count`` models on the dataset, each with its training started."""
    ids = []
    for n in range(count):
        model = await bria.models.create(f"candidate {n}", dataset_id)
        await bria.models.start_training(model.id)
        ids.append(model.id)
    return ids
