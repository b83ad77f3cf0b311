"""``tailored_lifecycle``: prepare the dataset → train the model → generate sample images."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from pydantic import BaseModel

from flows.dataset import prepare_dataset
from flows.generation import generate_images
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams
from flows.training import train_model
from tasks.credentials import BriaCredentials

DEFAULT_SAMPLES = [
    PromptSpec(prompt="The product on a clean studio background, soft light", seed=1, aspect_ratio="1:1"),
    PromptSpec(prompt="The product in a lifestyle scene, morning light", seed=2, aspect_ratio="16:9"),
]


class LifecycleResult(BaseModel):
    project_id: int
    dataset_id: int
    model_id: int
    images: list[Path]


@flow(name="tailored-lifecycle", flow_run_name="lifecycle-{project.project_name}")
async def tailored_lifecycle(
    project: ProjectParams,
    dataset: DatasetParams,
    training: TrainingParams,
    samples: list[PromptSpec] = DEFAULT_SAMPLES,  # noqa: B006 - pydantic parameters, never mutated
    out_dir: Path = Path("bria-output"),
    credentials: BriaCredentials | None = None,
) -> LifecycleResult:
    """The whole tailored-generation lifecycle; every step re-attaches on a re-run, so nothing is paid twice.

    Args:
        project: The Bria project (found by name, created when missing).
        dataset: The local images and the dataset they become.
        training: The model, its training mode and how to wait for it.
        samples: Prompts rendered with the trained model at the end.
        out_dir: Where images and their JSON sidecars are written.
        credentials: A BriaCredentials block; defaults to BRIA_API_TOKEN / BRIA_BASE_URL.
    """
    prepared = await prepare_dataset(project, dataset, credentials)
    model = await train_model(prepared.project_id, prepared.dataset_id, training, credentials)
    files = await generate_images(model.id, samples, out_dir=out_dir, credentials=credentials)
    get_run_logger().info("lifecycle done: model %s, %d sample images in %s", model.id, len(files), out_dir)
    return LifecycleResult(
        project_id=prepared.project_id,
        dataset_id=prepared.dataset_id,
        model_id=model.id,
        images=[f.path for f in files],
    )
