"""JSON shapes of resources, as in the spec's examples (ids int, two timestamp styles)."""

from __future__ import annotations

from typing import Any

from bria_emulator.clock import Clock
from bria_emulator.errors import ApiError
from bria_emulator.state import Dataset, ImageRecord, Project, TrainedModel


def parse_id(value: str | int, what: str) -> int:
    """Path ids typed as string in the spec: anything that is not an int simply does not exist."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(404, f"{what} not found") from None


def project_view(clock: Clock, p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "project_name": p.project_name,
        "project_description": p.project_description,
        "ip_name": p.ip_name,
        "ip_description": p.ip_description,
        "ip_medium": p.ip_medium,
        "ip_type": p.ip_type,
        "training_version": p.training_version,
        "status": "active",
        "created_at": clock.iso_z(p.created_at),
        "updated_at": clock.iso_z(p.updated_at),
    }


def dataset_view(clock: Clock, ds: Dataset, *, images_count: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ds.id,
        "project_id": ds.project_id,
        "name": ds.name,
        "visual_schema": ds.visual_schema,
        "status": ds.status,
        "captions_update_status": ds.captions_update_status,
        "upload_type": ds.upload_type,
    }
    if images_count:
        body["images_count"] = len(ds.image_ids)
    body["created_at"] = clock.iso_z(ds.created_at)
    body["updated_at"] = clock.iso_z(ds.updated_at)
    return body


def image_view(clock: Clock, base_url: str, image: ImageRecord) -> dict[str, Any]:
    return {
        "id": image.id,
        "dataset_id": image.dataset_id,
        "caption": image.caption,
        "caption_source": image.caption_source,
        "upload_source_url": image.upload_source_url,
        "image_name": image.image_name,
        "image_url": f"{base_url}/_emulator/files/{image.file_id}",
        "thumbnail_url": f"{base_url}/_emulator/files/{image.thumb_file_id}",
        "created_at": clock.iso_z(image.created_at),
        "updated_at": clock.iso_z(image.updated_at),
    }


def model_view(clock: Clock, m: TrainedModel, *, training_details: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": m.id,
        "name": m.name,
        "description": m.description,
        "status": m.status,
        "training_mode": m.training_mode,
        "project_id": m.project_id,
        "dataset_id": m.dataset_id,
        "created_at": clock.iso_micro(m.created_at),
        "updated_at": clock.iso_micro(m.updated_at),
        "custom_metadata": "",
        "active_model_version": m.active_model_version,
    }
    if training_details:
        body["training_parameters"] = dict(m.training_parameters)
        body["checkpoint_steps"] = [str(s) for s in sorted(m.checkpoint_steps, reverse=True)]
    return body


def model_summary(clock: Clock, m: TrainedModel) -> dict[str, Any]:
    """update-model / upload-model answer: {id, name, description, status, project_id, dataset_id, created_at}."""
    return {
        "id": m.id,
        "name": m.name,
        "description": m.description,
        "status": m.status,
        "project_id": m.project_id,
        "dataset_id": m.dataset_id,
        "created_at": clock.iso_micro(m.created_at),
    }
