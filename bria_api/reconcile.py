"""Exactly-once side effects without idempotency keys: look at Bria's state before (and after) creating.

Every create is find → create → on an indeterminate failure, find again. Names are the keys: a re-run with
the same project, dataset and model names re-attaches instead of creating a second one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bria_api.client import BriaClient
from bria_api.errors import Applied, BadRequestError, BriaError, ConflictError, NotFoundError
from bria_api.manifest import SHA_PREFIX_LEN, ManifestEntry, missing_from, sha_prefix_of
from bria_api.models import (
    BulkUploadState,
    Dataset,
    DatasetStatus,
    ModelStatus,
    Project,
    TailoredModel,
    TrainingMode,
    TrainingParameters,
    UploadType,
)

log = logging.getLogger("bria_api.reconcile")
T = TypeVar("T")
_RECONCILE_ROUNDS = 3


class Unconfirmed(BriaError):
    """Several rounds of act-then-look ended without a confirmed outcome (every attempt was ambiguous).

    Nothing was duplicated, and a later attempt looks before it acts again: transient, so a reconciling task
    may retry it.
    """

    transient = True
    applied = Applied.MAYBE


async def find_or_create(
    what: str, find: Callable[[], Awaitable[T | None]], create: Callable[[], Awaitable[T]]
) -> tuple[T, bool]:
    """``(resource, created)``. A create whose outcome is unknown is followed by a find, never a blind resend."""
    for _ in range(_RECONCILE_ROUNDS):
        existing = await find()
        if existing is not None:
            return existing, False
        try:
            return await create(), True
        except BriaError as exc:
            if exc.applied is not Applied.MAYBE:
                raise
            log.warning("%s: create outcome unknown (%s); reconciling", what, exc)
            found = await find()
            if found is not None:
                return found, True
    raise Unconfirmed(f"{what}: could not confirm creation after {_RECONCILE_ROUNDS} attempts")


def _oldest(items: Sequence[T], what: str) -> T | None:
    if len(items) > 1:
        log.warning("%d %s share one name; using the oldest (id %s)", len(items), what, items[0].id)  # type: ignore[attr-defined]
    return items[0] if items else None


async def ensure_project(bria: BriaClient, project_name: str, **fields: object) -> tuple[Project, bool]:
    async def find() -> Project | None:
        return _oldest(await bria.projects.find_by_name(project_name), "projects")

    return await find_or_create(
        f"project {project_name!r}", find, lambda: bria.projects.create(project_name, **fields)
    )


async def ensure_dataset(
    bria: BriaClient, project_id: int, name: str, *, upload_type: UploadType | str = UploadType.BASIC
) -> tuple[Dataset, bool]:
    return await find_or_create(
        f"dataset {name!r}",
        lambda: find_dataset(bria, project_id, name),
        lambda: bria.datasets.create(project_id, name, upload_type=upload_type),
    )


async def find_dataset(bria: BriaClient, project_id: int, name: str) -> Dataset | None:
    """The project's dataset named ``name`` (the oldest if several), or None."""
    found = sorted(
        (d for d in await bria.datasets.list_by_project(project_id) if d.name == name), key=lambda d: d.id
    )
    return _oldest(found, "datasets")


async def ensure_clone(bria: BriaClient, project_id: int, source_id: int, name: str) -> tuple[Dataset, bool]:
    """Clone ``source_id`` as a draft named ``name`` once: a re-run finds the clone by its name."""
    return await find_or_create(
        f"clone {name!r}",
        lambda: find_dataset(bria, project_id, name),
        lambda: bria.datasets.clone(source_id, name=name),
    )


async def remove_absent(bria: BriaClient, dataset_id: int, manifest: Sequence[ManifestEntry]) -> list[str]:
    """Delete the dataset's images whose content is not in ``manifest``; names of those deleted.

    Only images named by content (``<sha256[:16]>_...``) are judged; others are left alone. A DELETE whose
    image is already gone (404) counts as done, so a re-run after a crash finishes the job.
    """
    keep = {e.sha256[:SHA_PREFIX_LEN].lower() for e in manifest}
    removed: list[str] = []
    for image in await bria.images.list(dataset_id):
        prefix = sha_prefix_of(image.image_name)
        if prefix is None or prefix in keep:
            continue
        try:
            await bria.images.delete(dataset_id, image.id)
        except NotFoundError:
            pass
        removed.append(image.image_name or str(image.id))
    return removed


async def ensure_model(
    bria: BriaClient,
    project_id: int,
    dataset_id: int,
    name: str,
    *,
    training_mode: TrainingMode | str = TrainingMode.FULLY_AUTOMATED,
) -> tuple[TailoredModel, bool]:
    return await find_or_create(
        f"model {name!r}",
        lambda: find_model(bria, project_id, dataset_id, name),
        lambda: bria.models.create(name, dataset_id, training_mode=training_mode),
    )


async def find_model(bria: BriaClient, project_id: int, dataset_id: int, name: str) -> TailoredModel | None:
    """The model named ``name`` trained on ``dataset_id`` (the oldest if several), or None."""
    models = await bria.models.list_by_project(project_id)
    found = sorted((m for m in models if m.name == name and m.dataset_id == dataset_id), key=lambda m: m.id)
    return _oldest(found, "models")


@dataclass
class UploadSummary:
    uploaded: list[str] = field(default_factory=list)  # image names sent by this call
    skipped: list[str] = field(default_factory=list)  # already in the dataset
    remote_count: int = 0


async def upload_missing(
    bria: BriaClient,
    dataset_id: int,
    manifest: Sequence[ManifestEntry],
    *,
    concurrency: int = 4,
    increase_resolution: bool | None = None,
    on_uploaded: Callable[[ManifestEntry], None] | None = None,
    validated: bool = False,
) -> UploadSummary:
    """Upload the manifest entries the dataset does not hold yet, each exactly once.

    An upload whose outcome is unknown is not resent until the dataset has been listed again.
    ``validated``: the entries come from lint (already decoded), so each upload only re-checks the hash.
    """
    gate = asyncio.Semaphore(concurrency)
    wanted = list(manifest)

    halted: list[BaseException] = []  # a final refusal (token rejected, quota...): send nothing more

    async def send(entry: ManifestEntry) -> None:
        async with gate:
            if halted:
                raise halted[0]
            try:
                await bria.images.upload(
                    dataset_id,
                    entry.path,
                    image_name=entry.image_name,
                    increase_resolution=increase_resolution,
                    verified_sha256=entry.sha256 if validated else None,
                )
            except BriaError as exc:
                if not (exc.transient or exc.applied is Applied.MAYBE):
                    halted.append(exc)
                raise
        if on_uploaded:
            on_uploaded(entry)

    present_at_start: list[ManifestEntry] | None = None
    for round_no in range(_RECONCILE_ROUNDS + 1):
        remote = await bria.images.list(dataset_id)
        todo = missing_from(wanted, [img.image_name for img in remote])
        if present_at_start is None:
            present_at_start = [e for e in wanted if e not in todo]
        if not todo:
            remote_count = len(remote)
            break
        if round_no == _RECONCILE_ROUNDS:
            raise Unconfirmed(
                f"dataset {dataset_id}: {len(todo)} uploads unconfirmed after {round_no} rounds"
            )
        # Let every in-flight upload finish (cancelling one would only make its outcome unknown).
        outcomes = await asyncio.gather(*(send(e) for e in todo), return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        final = [
            f
            for f in failures
            if not (isinstance(f, BriaError) and (f.transient or f.applied is Applied.MAYBE))
        ]
        if final:
            raise final[0]
        if not failures:  # every upload answered 2xx: no need to list again to know they are there
            remote_count = len(remote) + len(todo)
            break
        # uncertain or transient: settled by listing again next round
        log.warning(
            "dataset %s: %d uploads uncertain (%s); reconciling", dataset_id, len(failures), failures[0]
        )
    else:  # pragma: no cover - the loop always breaks or raises
        raise AssertionError("unreachable")
    return UploadSummary(
        uploaded=[e.image_name for e in wanted if e not in (present_at_start or [])],
        skipped=[e.image_name for e in present_at_start or []],
        remote_count=remote_count,
    )


async def ensure_completed(bria: BriaClient, dataset_id: int) -> Dataset:
    dataset = await bria.datasets.get(dataset_id, max_images=1)
    if dataset.status == DatasetStatus.COMPLETED:
        return dataset
    try:
        return await bria.datasets.complete(dataset_id)
    except ConflictError:
        dataset = await bria.datasets.get(dataset_id, max_images=1)
        if dataset.status == DatasetStatus.COMPLETED:
            return dataset
        raise


class TrainingRefused(BriaError):
    """The model already ended (Failed or Stopped) and Bria cannot restart it."""


async def ensure_training(
    bria: BriaClient, model_id: int, parameters: TrainingParameters | None = None
) -> tuple[TailoredModel, str]:
    """Start training once. Returns the model and ``started`` | ``attached`` | ``completed``.

    The status is read first: InProgress re-attaches, Completed skips, and a 409 or an unknown outcome is
    settled by reading the model again. Failed and Stopped models cannot be resumed (Bria answers 409).
    A start of ours whose answer was lost, found running afterwards, counts as ``started`` (it was ours).
    """
    sent_unconfirmed = False
    for _ in range(_RECONCILE_ROUNDS):
        model = await bria.models.get(model_id)
        status = model.known_status
        if status in (ModelStatus.IN_PROGRESS, ModelStatus.STOPPING):
            return model, "started" if sent_unconfirmed else "attached"
        if status is ModelStatus.COMPLETED:
            return model, "completed"
        if status in (ModelStatus.FAILED, ModelStatus.STOPPED):
            raise TrainingRefused(
                f"model {model_id} is {status.value}: it cannot be restarted; create a new model"
            )
        try:
            return await bria.models.start_training(model_id, parameters), "started"
        except ConflictError:
            continue  # already started (by us, lost response, or a twin run): read it again
        except BriaError as exc:
            if exc.applied is not Applied.MAYBE:
                raise
            sent_unconfirmed = True
            log.warning("model %s: start_training outcome unknown (%s); reading status", model_id, exc)
    model = await bria.models.get(model_id)
    if model.known_status in (ModelStatus.IN_PROGRESS, ModelStatus.STOPPING):
        return model, "started" if sent_unconfirmed else "attached"
    if model.known_status is ModelStatus.COMPLETED:
        return model, "attached"
    raise Unconfirmed(f"model {model_id}: could not confirm that training started (status {model.status})")


async def ensure_bulk_upload(bria: BriaClient, dataset_id: int, zip_url: str) -> BulkUploadState:
    """Submit the dataset's one bulk ZIP attempt unless one already exists; never resubmit.

    Bria rejects any second attempt, so after a crash or a lost response this only reads the status.
    """
    try:
        return await bria.images.bulk_upload_status(dataset_id)
    except (NotFoundError, BadRequestError):
        pass  # no attempt yet
    try:
        await bria.images.bulk_upload(dataset_id, zip_url)
    except BriaError as exc:
        if exc.applied is not Applied.MAYBE:
            raise
        log.warning("dataset %s: bulk upload outcome unknown (%s); reading its status", dataset_id, exc)
    return await bria.images.bulk_upload_status(dataset_id)


async def stop_if_training(bria: BriaClient, model_id: int) -> TailoredModel:
    """Stop the training if it runs; a 409 (already stopping/stopped/ended) is fine: read the model."""
    model = await bria.models.get(model_id)
    if model.known_status in (ModelStatus.IN_PROGRESS, ModelStatus.CREATED):
        try:
            await bria.models.stop_training(model_id)
        except ConflictError:
            pass
        model = await bria.models.get(model_id)
    return model
