"""Dataset versions: when the folder changed since the dataset was completed, train on a new version.

A completed dataset takes no new images, so a changed folder becomes a draft **clone** of the latest completed
version, named by the folder's content: ``<dataset name> #<8 hex digits of the content digest>``. The name
is the idempotency key: a re-run with the same folder re-attaches to that clone (draft: carry on filling it;
completed: nothing to do) and never clones twice. Only the difference is sent: images whose content left the
folder are deleted from the clone, new contents uploaded; the visual schema and the kept images' captions
come with the clone, so no schema is paid for again. The ``dataset-diff`` artifact lists what was added and
removed. The model trained on a version is named ``<model name> #<digest>`` (see ``flows/lifecycle.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from prefect import get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel

from bria_api.manifest import SHA_PREFIX_LEN, ManifestEntry, missing_from, sha_prefix_of
from bria_api.models import Dataset, DatasetStatus, Image
from tasks.credentials import BriaCredentials
from tasks.datasets import clone_dataset, list_datasets, list_images

VERSION_MARK = " #"


class DatasetDiff(BaseModel):
    """What a new version changes relative to the version it was cloned from."""

    source_id: int
    source_name: str
    added: list[str]  # image names uploaded to the version
    removed: list[str]  # image names deleted from it


def content_digest(manifest: Sequence[ManifestEntry]) -> str:
    """8 hex digits naming the folder's content (order and file names do not matter).

    Computed over the content-hash prefixes that image names carry, so the dataset's own image list gives
    the same value; the first 8 digits of the lineage manifest digest (``tasks/lineage.py``).
    """
    unique = sorted({e.sha256[:SHA_PREFIX_LEN].lower() for e in manifest})
    return hashlib.sha256("\n".join(unique).encode()).hexdigest()[:8]


def version_label(dataset_name: str | None, base_name: str) -> str | None:
    """``3fa2c1d0`` for ``<base> #3fa2c1d0``; None for the base dataset itself."""
    if dataset_name and dataset_name.startswith(base_name + VERSION_MARK):
        return dataset_name[len(base_name + VERSION_MARK) :]
    return None


def _same_content(images: Sequence[Image], manifest: Sequence[ManifestEntry]) -> bool:
    remote = {sha_prefix_of(i.image_name) for i in images}
    return remote == {e.sha256[:SHA_PREFIX_LEN].lower() for e in manifest}


def diff_against(source: Dataset, images: Sequence[Image], manifest: Sequence[ManifestEntry]) -> DatasetDiff:
    keep = {e.sha256[:SHA_PREFIX_LEN].lower() for e in manifest}
    return DatasetDiff(
        source_id=source.id,
        source_name=source.name or str(source.id),
        added=[e.image_name for e in missing_from(manifest, [i.image_name for i in images])],
        removed=[
            i.image_name or str(i.id)
            for i in images
            if (p := sha_prefix_of(i.image_name)) is not None and p not in keep
        ],
    )


async def current_version(
    project_id: int,
    base: Dataset,
    manifest: Sequence[ManifestEntry],
    credentials: BriaCredentials | None = None,
) -> tuple[Dataset, DatasetDiff | None]:
    """The dataset holding the folder's content: an existing version, or a new draft clone (with its diff).

    ``base`` is the completed dataset named in the parameters.
    """
    logger = get_run_logger()
    base_name = base.name or ""
    target = f"{base_name}{VERSION_MARK}{content_digest(manifest)}"
    datasets = await list_datasets(project_id, credentials)
    mine = sorted(
        (d for d in datasets if d.name == base_name or version_label(d.name, base_name)), key=lambda d: d.id
    )
    existing = next((d for d in mine if d.name == target), None)
    if existing is not None and existing.status == DatasetStatus.COMPLETED:
        return existing, None  # this content was versioned (and completed) before
    completed = [d for d in mine if d.status == DatasetStatus.COMPLETED and d.name != target]
    source = completed[-1] if completed else base  # the latest completed version
    source_images = await list_images(source.id, credentials)
    if existing is None:
        for candidate in (source, base):
            images = source_images if candidate is source else await list_images(base.id, credentials)
            if _same_content(images, manifest):
                return candidate, None  # the folder did not change since this version was completed
        logger.info(
            "folder changed since dataset %s (%r) was completed: new version %r",
            source.id,
            source.name,
            target,
        )
        existing = await clone_dataset(project_id, source.id, target, credentials)
    diff = diff_against(source, source_images, manifest)
    rows = [{"change": "added", "image": n} for n in diff.added] + [
        {"change": "removed", "image": n} for n in diff.removed
    ]
    await acreate_table_artifact(
        rows,
        key="dataset-diff",
        description=f"{target} (dataset {existing.id}) from {diff.source_name} (dataset {diff.source_id}): "
        f"{len(diff.added)} added, {len(diff.removed)} removed",
    )
    return existing, diff
