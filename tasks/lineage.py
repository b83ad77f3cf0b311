"""Lineage as Prefect assets: source folder manifest → dataset → model (→ checkpoint) → generated images.

Each link is one materializing task (``@materialize``, its keys set at run time), so Prefect itself emits the
asset events: ``prefect.asset.materialization.succeeded`` for what was made, related to its upstream assets
(role ``asset``), the flow run and the task run, and ``prefect.asset.referenced`` for each upstream. The
open-source UI lists them in the Event Feed (filter on a resource such as ``bria://models/412`` to see what
it came from and what came from it); Prefect Cloud draws its asset graph from the same events.

Asset keys (ids are Bria's):

| what | key |
|---|---|
| source folder manifest | ``bria://manifests/<16 hex>``: sha256 over the sorted content hashes of the images |
| dataset | ``bria://datasets/<id>`` |
| model | ``bria://models/<id>`` |
| checkpoint (expert mode) | ``bria://models/<id>/checkpoints/<step>`` |
| generated image | ``bria://images/<request id>`` |

The manifest digest is computed from the local files when uploading and from the dataset's image names
(``<sha256[:16]>_<name>``, ``bria_api/manifest.py``) afterwards, so generation finds the same id without any
local record. Every generated image's JSON sidecar carries the same ids. Recording lineage never fails a run.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec

from prefect import get_run_logger, task
from prefect.assets import Asset, AssetProperties, add_asset_metadata, materialize
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from bria_api import NotFoundError
from bria_api.manifest import sha_prefix_of
from bria_api.models import TailoredModel
from tasks._common import TAGS, bria_client, retry_transient
from tasks.credentials import BriaCredentials

P = ParamSpec("P")


def manifest_digest(content_ids: Iterable[str]) -> str:
    """One id for a set of images (16-hex content hash prefixes): the same from the local folder and from
    the dataset they became; duplicates count once, as they are uploaded once."""
    unique = sorted(set(content_ids))
    return hashlib.sha256("\n".join(unique).encode()).hexdigest()[:16]


def manifest_asset(digest: str, folder: str | None = None, images: int | None = None) -> Asset:
    described = f"{images} images from {folder}" if folder else None
    return Asset(
        key=f"bria://manifests/{digest}",
        properties=AssetProperties(name=f"manifest {digest}", description=described) if folder else None,
    )


def dataset_asset(dataset_id: int) -> Asset:
    return Asset(key=f"bria://datasets/{dataset_id}")


def model_asset(model_id: int, checkpoint_step: str | None = None) -> Asset:
    if checkpoint_step and checkpoint_step != "default":
        return Asset(key=f"bria://models/{model_id}/checkpoints/{checkpoint_step}")
    return Asset(key=f"bria://models/{model_id}")


def image_asset(request_id: str) -> Asset:
    return Asset(key=f"bria://images/{request_id}")


class Lineage(BaseModel):
    """Where a model's images come from; written into every image's sidecar."""

    manifest_digest: str | None = None
    dataset_id: int | None = None
    model_id: int
    checkpoint_step: str | None = None

    def source(self) -> Asset:
        """The most specific upstream of a generated image: the checkpoint, else the model."""
        return model_asset(self.model_id, self.checkpoint_step)

    def sidecar_fields(self) -> dict[str, Any]:
        return {
            "manifest_digest": self.manifest_digest,
            "dataset_id": self.dataset_id,
            "checkpoint_step": self.checkpoint_step,
            "lineage": [
                *([f"bria://manifests/{self.manifest_digest}"] if self.manifest_digest else []),
                *([dataset_asset(self.dataset_id).key] if self.dataset_id else []),
                self.source().key,
            ],
        }


@materialize("bria://lineage", name="record-lineage", tags=TAGS, cache_policy=NO_CACHE, persist_result=False)
async def _materialize(metadata: dict[str, dict[str, Any]]) -> None:
    for key, values in metadata.items():
        add_asset_metadata(key, values)


def _never_fails(fn: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - lineage is bookkeeping: the work itself is done
            get_run_logger().warning("lineage not recorded (%s): %s", fn.__name__, exc)

    return wrapper


async def record(
    made: list[Asset], upstream: list[Asset], metadata: dict[str, dict[str, Any]] | None = None
) -> None:
    """Emit the asset events of ``made`` from ``upstream`` (one materializing task run)."""
    if made:
        step = _materialize.with_options(
            assets=made, asset_deps=upstream, task_run_name=f"lineage-{made[0].key.split('://', 1)[1]}"
        )
        await step(metadata or {})


def digest_of_manifest(entries: Iterable[Any]) -> str:
    """The digest of a local manifest (``bria_api.manifest.ManifestEntry`` items)."""
    return manifest_digest(e.sha256[:16].lower() for e in entries)


@_never_fails
async def record_dataset(dataset_id: int, digest: str, folder: str, images: int) -> None:
    await record(
        [dataset_asset(dataset_id)],
        [manifest_asset(digest, folder, images)],
        {dataset_asset(dataset_id).key: {"manifest_digest": digest, "images": images}},
    )


@_never_fails
async def record_model(model: TailoredModel) -> None:
    """The model from its dataset; in expert mode also the checkpoint in use from the model."""
    made, upstream = [model_asset(model.id)], [dataset_asset(model.dataset_id)]
    await record(
        made, upstream, {made[0].key: {"status": str(model.status), "mode": str(model.training_mode)}}
    )
    step = model.active_model_version
    if step and step != "default":  # the checkpoint Bria generates with (no API selects another one)
        await record([model_asset(model.id, step)], made, {model_asset(model.id, step).key: {"step": step}})


@_never_fails
async def record_images(lineage: Lineage, request_ids: list[str]) -> None:
    await record([image_asset(r) for r in request_ids], [lineage.source()])


@task(
    name="read-lineage",
    task_run_name="lineage-of-{model_id}",
    tags=TAGS,
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
    timeout_seconds=300,
)
async def lineage_of(model_id: int, credentials: BriaCredentials | None = None) -> Lineage:
    """Read the model and its dataset's image names from Bria: what its images come from."""
    async with bria_client(credentials) as bria:
        model = await bria.models.get(model_id)
        try:
            images = await bria.images.list(model.dataset_id) if model.dataset_id else []
        except NotFoundError:  # the dataset was deleted since: the model and its images still link
            images = []
    hashes = [sha_prefix_of(i.image_name) or f"name:{i.image_name or i.id}" for i in images]  # ZIP uploads
    step = model.active_model_version if model.active_model_version != "default" else None
    return Lineage(
        manifest_digest=manifest_digest(hashes) if hashes else None,
        dataset_id=model.dataset_id,
        model_id=model.id,
        checkpoint_step=step,
    )
