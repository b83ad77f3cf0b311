"""``prepare_dataset``: lint → project → dataset → visual schema → upload → captions → complete."""

from __future__ import annotations

from typing import Annotated

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from pydantic import BaseModel, Field

from bria_api.lint import LintRules
from bria_api.manifest import ManifestEntry
from bria_api.models import CreateProjectRequest, DatasetStatus, Project
from flows.params import DatasetParams, ProjectParams
from flows.review import ask_caption_review
from flows.versions import current_version, version_label
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
    remove_absent_images,
    upload_images,
)
from tasks.lineage import digest_of_manifest, record_dataset
from tasks.lint import lint_images
from tasks.locks import resource_lock


class PreparedDataset(BaseModel):
    project_id: int
    dataset_id: int
    images_in_dataset: int
    uploaded: int
    skipped: int
    removed: int = 0  # deleted from a new version because they left the folder
    dataset_name: str | None = None
    version: str | None = None  # the content digest of a dataset version (flows/versions.py); None: the base
    lint_summary: str | None = None


def sample_evenly(items: list, k: int) -> list:
    """k items spread over the list (deterministic: a re-run samples the same images)."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


@flow(name="prepare-dataset", flow_run_name="prepare-{dataset.name}", log_prints=False)
async def prepare_dataset(
    project: ProjectParams,
    dataset: DatasetParams,
    credentials: BriaCredentials | None = None,
    review_captions: bool = False,
    review_timeout_hours: Annotated[float, Field(gt=0, le=168)] = 24.0,
) -> PreparedDataset:
    """Lint the folder, then create or re-attach the project and dataset, upload what is missing, caption, complete.

    A folder changed since the dataset was completed becomes a new dataset version (flows/versions.py).

    Args:
        project: The Bria project (found by name, created when missing).
        dataset: The local folder and the dataset it becomes.
        credentials: A BriaCredentials block; defaults to BRIA_API_TOKEN / BRIA_BASE_URL from the environment.
        review_captions: Pause after captioning for a person to edit captions in the UI, then complete.
        review_timeout_hours: How long the caption review may wait (the run fails after it).
    """
    advanced = dataset.upload_type == "advanced"
    manifest: list[ManifestEntry] = []
    rules = LintRules(upload_type=dataset.upload_type, increase_resolution=dataset.increase_resolution)
    lint_summary = None
    if not advanced:  # errors stop here: nothing created, nothing spent
        report = await lint_images(dataset.images_dir, rules)
        manifest, lint_summary = report.manifest, report.summary()
    request = CreateProjectRequest(**project.model_dump(exclude_none=True))
    # Cross-run locks: an identical run started at the same time waits here, then adopts what this one made.
    async with resource_lock("project", project.project_name):
        proj = await ensure_project(request, credentials)
    review_timeout = int(review_timeout_hours * 3600) if review_captions else None
    async with resource_lock("dataset", proj.id, dataset.name):
        result = await _fill_dataset(proj, dataset, manifest, credentials, review_timeout)
    return result.model_copy(update={"lint_summary": lint_summary})


async def _fill_dataset(
    proj: Project,
    dataset: DatasetParams,
    manifest: list[ManifestEntry],
    credentials: BriaCredentials | None,
    review_timeout: int | None = None,
) -> PreparedDataset:
    """Find or create the dataset, then schema, uploads, captions and completion (under the dataset's lock)."""
    logger = get_run_logger()
    advanced = dataset.upload_type == "advanced"
    ds = await ensure_dataset(proj.id, dataset.name, dataset.upload_type, credentials)
    diff = None
    if ds.status == DatasetStatus.COMPLETED and not advanced:  # a changed folder becomes a new version
        ds, diff = await current_version(proj.id, ds, manifest, credentials)
    name, version = ds.name, version_label(ds.name, dataset.name)
    if ds.status == DatasetStatus.COMPLETED:
        logger.info("dataset %s (%r) is already completed: nothing to do", ds.id, name)
        return PreparedDataset(
            project_id=proj.id,
            dataset_id=ds.id,
            images_in_dataset=ds.images_count or 0,
            uploaded=0,
            skipped=0,
            dataset_name=name,
            version=version,
        )
    uploaded = skipped = removed = 0
    if advanced:
        state = await bulk_upload_zip(ds.id, dataset.zip_url, credentials=credentials)
        if state.status != "completed":
            raise RuntimeError(f"bulk upload of dataset {ds.id} ended {state.status}")
    else:
        if diff is not None:  # a new version: what left the folder goes first (a dataset holds at most 200)
            removed = len(await remove_absent_images(ds.id, manifest, credentials))
        if not ds.visual_schema:  # a re-run never pays for a second schema (a version inherits it)
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
    if review_timeout is not None:
        await ask_caption_review(ds.id, review_timeout, credentials)
    ds = await complete_dataset(ds.id, credentials)
    if manifest:  # lineage: the folder's images became this dataset (tasks/lineage.py)
        await record_dataset(ds.id, digest_of_manifest(manifest), str(dataset.images_dir), len(manifest))
    result = PreparedDataset(
        project_id=proj.id,
        dataset_id=ds.id,
        images_in_dataset=ds.images_count or captioned,
        uploaded=uploaded,
        skipped=skipped,
        removed=removed,
        dataset_name=name,
        version=version,
    )
    await acreate_markdown_artifact(
        f"## Dataset `{name}` (id {ds.id})\n\n| | |\n|---|---|\n| project | {proj.project_name} ({proj.id}) |\n"
        f"| images in dataset | {result.images_in_dataset} |\n| uploaded this run | {uploaded} |\n"
        f"| already there | {skipped} |\n| removed (left the folder) | {removed} |\n| captioned | {captioned} |\n"
        f"| status | {ds.status} |\n",
        key="dataset-summary",
        description=f"Dataset {ds.id}",
    )
    return result
