"""v1 dataset images: single uploads (basic), bulk ZIP (advanced), captions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from bria_emulator import content
from bria_emulator.errors import ApiError
from bria_emulator.images import ImageRejected, inspect_image
from bria_emulator.inputs import (
    InputRejected,
    decode_base64,
    fetch_url,
    generated_zip,
    parse_zip,
    store_image,
)
from bria_emulator.routes_datasets import require_dataset, require_json_object
from bria_emulator.runtime import Runtime, get_runtime
from bria_emulator.state import CAPTIONS_SECONDS, BulkJob, Dataset, ImageRecord
from bria_emulator.views import dataset_view, image_view
from bria_emulator.webhooks import is_loopback_url

router = APIRouter(prefix="/v1/tailored-gen/datasets/{dataset_id}/images", tags=["Dataset"])
MAX_BASIC_IMAGES = 200
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


class UploadImageBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    file: str | None = (
        None  # base64 (the spec says `format: binary` inside JSON; Bria's cookbook sends base64)
    )
    image_url: str | None = None
    image_name: str | None = None
    increase_resolution: bool = True
    content_moderation: bool = False


class UpdateCaptionBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    caption: str | None = None
    regenerate_caption: bool = False


class BulkUploadBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    zip_url: str | None = None
    content_moderation: bool = False


def require_draft(ds: Dataset, action: str) -> None:
    if ds.status == "completed":
        raise ApiError(409, f"Cannot {action} in a completed dataset")


def require_image(rt: Runtime, ds: Dataset, image_id: int) -> ImageRecord:
    image = rt.store.images.get(image_id)
    if image is None or image.dataset_id != ds.id:
        raise ApiError(404, "Image not found")
    return image


@router.post("", operation_id="upload-image", status_code=201)
async def upload_image(dataset_id: int, body: UploadImageBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    if bool(body.file) == bool(body.image_url):
        raise ApiError(400, "Provide exactly one of file or image_url")
    require_draft(ds, "upload images")
    if ds.upload_type != "basic":
        raise ApiError(409, "Single image upload is only supported for 'basic' datasets; use bulk-upload")
    if len(ds.image_ids) >= MAX_BASIC_IMAGES:
        raise ApiError(409, f"Maximum number of images ({MAX_BASIC_IMAGES}) reached")
    try:
        data = await fetch_url(rt.files, body.image_url) if body.image_url else decode_base64(body.file or "")
        decoded = inspect_image(data)
    except (InputRejected, ImageRejected) as exc:
        raise ApiError(exc.status, exc.message) from None
    minimum = 256 if body.increase_resolution else 1024
    if min(decoded.width, decoded.height) < minimum:
        raise ApiError(
            412,
            f"Image resolution too low: {decoded.width}x{decoded.height} "
            f"(minimum {minimum}x{minimum} with increase_resolution={body.increase_resolution})",
        )
    now = rt.clock.now()
    name = body.image_name or f"image_{len(ds.image_ids) + 1}.{EXTENSIONS[decoded.format]}"
    pending = store_image(rt.files, data, decoded, name)
    image = rt.store.add_image(ds, pending, now, source_url=body.image_url)
    view = image_view(rt.clock, rt.base_url(request), image)
    view.pop("upload_source_url")
    return view


@router.get("", operation_id="get-images")
async def get_images(dataset_id: int, request: Request) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    base = rt.base_url(request)
    return [image_view(rt.clock, base, rt.store.images[i]) for i in ds.image_ids]


@router.put("", operation_id="regenerate-all-captions", status_code=202)
async def regenerate_all_captions(dataset_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    require_draft(ds, "regenerate captions")
    if not ds.visual_schema:
        raise ApiError(400, "The dataset has no visual_schema: set one before regenerating captions")
    now = rt.clock.now()
    ds.captions_update_status = "in_progress"
    ds.captions_done_at = now + CAPTIONS_SECONDS
    ds.updated_at = now
    view = dataset_view(rt.clock, ds, images_count=False)
    view.pop("upload_type")
    return view


@router.get("/bulk-upload/status", operation_id="get-bulk-upload-status")
async def get_bulk_upload_status(dataset_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    if ds.bulk is None:
        raise ApiError(404, "No bulk upload found for this dataset")
    return ds.bulk.snapshot(rt.clock.now())


@router.post("/bulk-upload", operation_id="bulk-upload-images", status_code=202)
async def bulk_upload_images(dataset_id: int, body: BulkUploadBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    ds.bulk_attempts += 1  # every POST counts (stats); only an accepted one blocks later attempts
    if ds.upload_type != "advanced":
        raise ApiError(400, "Bulk upload is only supported for 'advanced' datasets")
    if ds.bulk is not None:
        raise ApiError(400, "A bulk upload attempt already took place for this dataset")
    if ds.image_ids:
        raise ApiError(400, "Bulk upload requires an empty dataset")
    if ds.status == "completed":
        raise ApiError(400, "Cannot upload images to a completed dataset")
    zip_url = (body.zip_url or "").strip()
    if not zip_url.startswith(("http://", "https://")):
        raise ApiError(400, "zip_url must be an http(s) URL")
    if is_loopback_url(zip_url) or "/_emulator/files/" in zip_url:
        try:
            result = parse_zip(rt.files, await fetch_url(rt.files, zip_url))
        except InputRejected as exc:
            ds.bulk = BulkJob(rt.clock.now(), [], fatal=exc.message)
            raise ApiError(exc.status if exc.status == 413 else 400, exc.message) from None
    else:
        result = generated_zip(rt.files, zip_url)
    ds.bulk = BulkJob(rt.clock.now(), result.entries, fatal=result.fatal)
    ds.updated_at = rt.clock.now()
    return {"status": "pending", "dataset_id": ds.id}


@router.get("/{image_id}", operation_id="get-image")
async def get_image(dataset_id: int, image_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    view = image_view(rt.clock, rt.base_url(request), require_image(rt, ds, image_id))
    view.pop("upload_source_url")
    return view


@router.put("/{image_id}", operation_id="update-image-caption")
async def update_image_caption(
    dataset_id: int, image_id: int, body: UpdateCaptionBody, request: Request
) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    image = require_image(rt, ds, image_id)
    if (body.caption is not None) == body.regenerate_caption:
        raise ApiError(400, "Provide exactly one of caption or regenerate_caption=true")
    require_draft(ds, "update captions")
    now = rt.clock.now()
    if body.caption is not None:
        require_json_object(body.caption, "caption")
        image.caption, image.caption_source = body.caption, "manual"
    else:
        if not ds.visual_schema:
            raise ApiError(400, "The dataset has no visual_schema: captions cannot be generated")
        image.caption = content.caption(ds.visual_schema, image.sha256 + str(now), image.image_name)
        image.caption_source = "automatic"
    image.updated_at = ds.updated_at = now
    view = image_view(rt.clock, rt.base_url(request), image)
    view.pop("upload_source_url")
    return view


@router.delete("/{image_id}", operation_id="delete-image", status_code=204)
async def delete_image(dataset_id: int, image_id: int, request: Request) -> Response:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    image = require_image(rt, ds, image_id)
    require_draft(ds, "delete images")
    ds.image_ids.remove(image.id)
    rt.store.images.pop(image.id, None)
    ds.updated_at = rt.clock.now()
    return Response(status_code=204)
