"""Tasks for projects and datasets: find-or-create, visual schema, uploads, captions, completion."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from bria_api import reconcile
from bria_api.manifest import ManifestEntry
from bria_api.models import (
    BulkUploadState,
    BulkUploadStatus,
    CaptionsUpdateStatus,
    CreateProjectRequest,
    Dataset,
    Image,
    Project,
    UploadType,
)
from tasks._common import TAGS, bria_client, retry_transient
from tasks._progress import report
from tasks.credentials import BriaCredentials
from tasks.ledger import record_billable

# Reconciling tasks may be retried: they look before they act. NO_CACHE: the truth is Bria, not a cache.
SAFE = dict(
    tags=TAGS,
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)


@task(
    name="ensure-project", task_run_name="ensure-project-{request.project_name}", timeout_seconds=600, **SAFE
)
async def ensure_project(
    request: CreateProjectRequest, credentials: BriaCredentials | None = None
) -> Project:
    """Find the project by name, or create it."""
    async with bria_client(credentials) as bria:
        fields = request.model_dump(exclude={"project_name"}, exclude_none=True)
        project, created = await reconcile.ensure_project(bria, request.project_name, **fields)
    get_run_logger().info(
        "%s project %s (%r)", "created" if created else "re-attached", project.id, project.project_name
    )
    return project


@task(name="ensure-dataset", task_run_name="ensure-dataset-{name}", timeout_seconds=600, **SAFE)
async def ensure_dataset(
    project_id: int,
    name: str,
    upload_type: UploadType = UploadType.BASIC,
    credentials: BriaCredentials | None = None,
) -> Dataset:
    """Find the dataset by name within the project, or create it."""
    async with bria_client(credentials) as bria:
        # the list and the create both answer with status and visual_schema: no need to read it again
        dataset, created = await reconcile.ensure_dataset(bria, project_id, name, upload_type=upload_type)
    get_run_logger().info(
        "%s dataset %s (%r, %s)", "created" if created else "re-attached", dataset.id, name, dataset.status
    )
    return dataset


@task(
    name="generate-visual-schema",
    task_run_name="visual-schema-from-{n}-images",
    tags=TAGS,
    timeout_seconds=900,
)
async def generate_visual_schema(
    sample: list[Path], n: int = 0, credentials: BriaCredentials | None = None
) -> str:
    """Derive a visual schema from 5-10 sample images (spends credits: not retried)."""
    async with bria_client(credentials) as bria:
        schema = (await bria.datasets.generate_visual_schema(sample)).visual_schema
    await record_billable("generate-visual-schema")
    return schema


@task(
    name="refine-structured-prompt",
    task_run_name="refine-schema-{dataset_id}",
    tags=TAGS,
    timeout_seconds=900,
)
async def refine_structured_prompt(
    dataset_id: int, structured_prompt: str, instruction: str, credentials: BriaCredentials | None = None
) -> str:
    """Refine a schema or caption with an instruction (the dataset must be a draft)."""
    async with bria_client(credentials) as bria:
        refined = await bria.datasets.refine_structured_prompt(dataset_id, structured_prompt, instruction)
    await record_billable("refine-json")
    return refined.structured_prompt


@task(name="apply-visual-schema", task_run_name="apply-schema-{dataset_id}", timeout_seconds=300, **SAFE)
async def apply_visual_schema(
    dataset_id: int, visual_schema: str, credentials: BriaCredentials | None = None
) -> Dataset:
    """Set the dataset's visual schema (a PUT: idempotent)."""
    async with bria_client(credentials) as bria:
        return await bria.datasets.update(dataset_id, visual_schema=visual_schema)


@task(name="upload-image", task_run_name="upload-{entry.image_name}", timeout_seconds=600, **SAFE)
async def upload_image(
    dataset_id: int,
    entry: ManifestEntry,
    increase_resolution: bool = True,
    credentials: BriaCredentials | None = None,
) -> list[str]:
    """Upload one image unless the dataset already holds its content (reconciled by content hash)."""
    async with bria_client(credentials) as bria:
        summary = await reconcile.upload_missing(
            bria, dataset_id, [entry], increase_resolution=increase_resolution
        )
    return summary.uploaded


@task(name="upload-images", task_run_name="upload-{n}-images-to-{dataset_id}", timeout_seconds=7200, **SAFE)
async def upload_images(
    dataset_id: int,
    manifest: list[ManifestEntry],
    n: int = 0,
    concurrency: int = 4,
    increase_resolution: bool = True,
    credentials: BriaCredentials | None = None,
    validated: bool = False,
) -> reconcile.UploadSummary:
    """Upload what the dataset is missing, ``concurrency`` at a time; each file exactly once.

    ``validated``: the manifest comes from lint, so each file is only re-hashed, not decoded again.
    """
    logger = get_run_logger()
    done = 0

    def uploaded(entry: ManifestEntry) -> None:
        nonlocal done
        done += 1
        report(f"upload-{dataset_id}", f"uploading to dataset {dataset_id}", done, len(manifest))

    async with bria_client(credentials) as bria:
        summary = await reconcile.upload_missing(
            bria,
            dataset_id,
            manifest,
            concurrency=concurrency,
            increase_resolution=increase_resolution,
            on_uploaded=uploaded,
            validated=validated,
        )
    logger.info(
        "dataset %s: %d uploaded, %d already there, %d in the dataset",
        dataset_id,
        len(summary.uploaded),
        len(summary.skipped),
        summary.remote_count,
    )
    return summary


@task(name="bulk-upload-zip", task_run_name="bulk-zip-{dataset_id}", timeout_seconds=4 * 3600, **SAFE)
async def bulk_upload_zip(
    dataset_id: int, zip_url: str, poll_seconds: float = 15.0, credentials: BriaCredentials | None = None
) -> BulkUploadState:
    """The dataset's single bulk ZIP attempt, then wait for its status. After a crash this only polls."""
    logger = get_run_logger()
    async with bria_client(credentials) as bria:
        state = await reconcile.ensure_bulk_upload(bria, dataset_id, zip_url)
        while state.status in (BulkUploadStatus.PENDING, BulkUploadStatus.PROCESSING):
            await asyncio.sleep(poll_seconds)
            state = await bria.images.bulk_upload_status(dataset_id)
    logger.info("bulk upload %s: %s, %s done, %s failed", dataset_id, state.status, state.done, state.failed)
    return state


@task(name="regenerate-captions", task_run_name="captions-{dataset_id}", timeout_seconds=4 * 3600, **SAFE)
async def regenerate_captions(
    dataset_id: int,
    poll_seconds: float = 10.0,
    force: bool = False,
    credentials: BriaCredentials | None = None,
) -> Dataset:
    """Regenerate captions when any image lacks one (or ``force``), then wait until they are completed."""
    async with bria_client(credentials) as bria:
        dataset = await bria.datasets.get(dataset_id)
        missing = [img for img in dataset.images or [] if not img.caption]
        if force or missing or dataset.captions_update_status == CaptionsUpdateStatus.IN_PROGRESS:
            if dataset.captions_update_status != CaptionsUpdateStatus.IN_PROGRESS:
                await bria.images.regenerate_captions(dataset_id)
            while (
                dataset := await bria.datasets.get(dataset_id)
            ).captions_update_status != CaptionsUpdateStatus.COMPLETED:
                await asyncio.sleep(poll_seconds)
    return dataset


@task(name="update-caption", task_run_name="caption-{dataset_id}-{image_id}", timeout_seconds=300, **SAFE)
async def update_caption(
    dataset_id: int, image_id: int, caption: str, credentials: BriaCredentials | None = None
) -> Image:
    """Replace one image's caption (a JSON string) with a manual one."""
    async with bria_client(credentials) as bria:
        return await bria.images.update_caption(dataset_id, image_id, caption=caption)


@task(name="list-datasets", task_run_name="list-datasets-{project_id}", timeout_seconds=300, **SAFE)
async def list_datasets(project_id: int, credentials: BriaCredentials | None = None) -> list[Dataset]:
    """The project's datasets (with status)."""
    async with bria_client(credentials) as bria:
        return await bria.datasets.list_by_project(project_id)


@task(name="list-images", task_run_name="list-images-{dataset_id}", timeout_seconds=300, **SAFE)
async def list_images(dataset_id: int, credentials: BriaCredentials | None = None) -> list[Image]:
    """The dataset's images (names carry the content hash; captions included)."""
    async with bria_client(credentials) as bria:
        return await bria.images.list(dataset_id)


@task(name="clone-dataset", task_run_name="clone-{source_id}-as-{name}", timeout_seconds=600, **SAFE)
async def clone_dataset(
    project_id: int, source_id: int, name: str, credentials: BriaCredentials | None = None
) -> Dataset:
    """Clone a dataset as a draft named ``name``, once (a re-run finds the clone by name)."""
    async with bria_client(credentials) as bria:
        dataset, created = await reconcile.ensure_clone(bria, project_id, source_id, name)
    get_run_logger().info(
        "%s draft %s (%r) from dataset %s",
        "cloned" if created else "re-attached",
        dataset.id,
        name,
        source_id,
    )
    return dataset


@task(
    name="remove-absent-images", task_run_name="remove-absent-from-{dataset_id}", timeout_seconds=900, **SAFE
)
async def remove_absent_images(
    dataset_id: int, manifest: list[ManifestEntry], credentials: BriaCredentials | None = None
) -> list[str]:
    """Delete the draft's images whose content left the local folder (names of those deleted)."""
    async with bria_client(credentials) as bria:
        removed = await reconcile.remove_absent(bria, dataset_id, manifest)
    if removed:
        get_run_logger().info(
            "dataset %s: removed %d images no longer in the folder", dataset_id, len(removed)
        )
    return removed


@task(name="complete-dataset", task_run_name="complete-{dataset_id}", timeout_seconds=300, **SAFE)
async def complete_dataset(dataset_id: int, credentials: BriaCredentials | None = None) -> Dataset:
    """Mark the dataset completed (skipped when it already is)."""
    async with bria_client(credentials) as bria:
        return await reconcile.ensure_completed(bria, dataset_id)
