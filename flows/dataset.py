"""``prepare_dataset``: lint → project → dataset → visual schema → upload → captions → complete."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from pydantic import BaseModel

from bria_api.lint import LintRules
from bria_api.manifest import ManifestEntry
from bria_api.models import CreateProjectRequest, DatasetStatus, Project
from flows.params import DatasetParams, ProjectParams
from tasks.credentials import BriaCredentials
from tasks.datasets import (
    apply_visual_schema,
    bulk_upload_zip,
    complete_dataset,
    ensure_dataset,
    ensure_project,
    generate_visual_schema,
    refine_structured_prompt,
    regenerate_captions,
    upload_images,
)
from tasks.lint import lint_images
from tasks.locks import resource_lock


class PreparedDataset(BaseModel):
    project_id: int
    dataset_id: int
    images_in_dataset: int
    uploaded: int
    skipped: int


def sample_evenly(items: list, k: int) -> list:
    """k items spread over the list (deterministic: a re-run samples the same images)."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


@flow(name="prepare-dataset", flow_run_name="prepare-{dataset.name}", log_prints=False)
async def prepare_dataset(
    project: ProjectParams, dataset: DatasetParams, credentials: BriaCredentials | None = None
) -> PreparedDataset:
    """Lint the folder, then create or re-attach the project and dataset, upload what is missing, caption, complete.

    Args:
        project: The Bria project (found by name, created when missing).
        dataset: The local folder and the dataset it becomes.
        credentials: A BriaCredentials block; defaults to BRIA_API_TOKEN / BRIA_BASE_URL from the environment.
    """
    advanced = dataset.upload_type == "advanced"
    manifest: list[ManifestEntry] = []
    rules = LintRules(upload_type=dataset.upload_type, increase_resolution=dataset.increase_resolution)
    if not advanced:  # errors stop here: nothing created, nothing spent
        manifest = (await lint_images(dataset.images_dir, rules)).manifest
    request = CreateProjectRequest(**project.model_dump(exclude_none=True))
    # Cross-run locks: an identical run started at the same time waits here, then adopts what this one made.
    async with resource_lock("project", project.project_name):
        proj = await ensure_project(request, credentials)
    async with resource_lock("dataset", proj.id, dataset.name):
        return await _fill_dataset(proj, dataset, manifest, credentials)


async def _fill_dataset(
    proj: Project, dataset: DatasetParams, manifest: list[ManifestEntry], credentials: BriaCredentials | None
) -> PreparedDataset:
    """Find or create the dataset, then schema, uploads, captions and completion (under the dataset's lock)."""
    logger = get_run_logger()
    advanced = dataset.upload_type == "advanced"
    ds = await ensure_dataset(proj.id, dataset.name, dataset.upload_type, credentials)
    if ds.status == DatasetStatus.COMPLETED:
        logger.info("dataset %s is already completed: nothing to do", ds.id)
        return PreparedDataset(
            project_id=proj.id,
            dataset_id=ds.id,
            images_in_dataset=ds.images_count or 0,
            uploaded=0,
            skipped=0,
        )
    uploaded = skipped = 0
    if advanced:
        state = await bulk_upload_zip(ds.id, dataset.zip_url, credentials=credentials)
        if state.status != "completed":
            raise RuntimeError(f"bulk upload of dataset {ds.id} ended {state.status}")
    else:
        if not ds.visual_schema:  # a re-run never pays for a second schema
            sample = [e.path for e in sample_evenly(manifest, dataset.schema_sample_size)]
            schema = await generate_visual_schema(sample, len(sample), credentials)
            if dataset.refine_instruction:
                schema = await refine_structured_prompt(
                    ds.id, schema, dataset.refine_instruction, credentials
                )
            await apply_visual_schema(ds.id, schema, credentials)
        summary = await upload_images(
            ds.id,
            manifest,
            len(manifest),
            concurrency=dataset.upload_concurrency,
            increase_resolution=dataset.increase_resolution,
            credentials=credentials,
            validated=True,
        )
        uploaded, skipped = len(summary.uploaded), len(summary.skipped)
    ds = await regenerate_captions(ds.id, poll_seconds=dataset.caption_poll_seconds, credentials=credentials)
    captioned = sum(1 for img in ds.images or [] if img.caption)
    ds = await complete_dataset(ds.id, credentials)
    result = PreparedDataset(
        project_id=proj.id,
        dataset_id=ds.id,
        images_in_dataset=ds.images_count or captioned,
        uploaded=uploaded,
        skipped=skipped,
    )
    await acreate_markdown_artifact(
        f"## Dataset `{dataset.name}` (id {ds.id})\n\n| | |\n|---|---|\n| project | {proj.project_name} ({proj.id}) |\n"
        f"| images in dataset | {result.images_in_dataset} |\n| uploaded this run | {uploaded} |\n"
        f"| already there | {skipped} |\n| captioned | {captioned} |\n| status | {ds.status} |\n",
        key="dataset-summary",
        description=f"Dataset {ds.id}",
    )
    return result
