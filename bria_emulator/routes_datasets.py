"""v1 datasets, visual schema and refine (+ the odd /v1/datasets/{id}/download)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from bria_emulator import content
from bria_emulator.errors import ApiError
from bria_emulator.inputs import InputRejected, load_image
from bria_emulator.routes_projects import require_project
from bria_emulator.runtime import Runtime, get_runtime
from bria_emulator.state import Dataset, ImageRecord
from bria_emulator.views import dataset_view, image_view, model_view

router = APIRouter(prefix="/v1/tailored-gen", tags=["Dataset"])
download_router = APIRouter(prefix="/v1", tags=["Dataset"])
MIN_IMAGES_TO_COMPLETE = 5


class CreateDatasetBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    project_id: int | None = None
    name: str | None = None
    upload_type: Literal["basic", "advanced"] = "basic"


class UpdateDatasetBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    visual_schema: str | None = None
    status: str | None = None  # accepted case-insensitively (Bria's cookbook sent "Completed")


class CloneDatasetBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    description: str | None = None


class VisualSchemaBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    images: list[str] | None = None
    content_moderation: bool = False


class RefineBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    dataset_id: int
    structured_prompt: str
    instruction: str
    context_images: list[str] | None = None


def require_dataset(rt: Runtime, dataset_id: int) -> Dataset:
    ds = rt.store.datasets.get(dataset_id)
    if ds is None:
        raise ApiError(404, "Dataset not found")
    return rt.store.settle_dataset(ds, rt.clock.now())


def require_json_object(text: str, field: str) -> dict[str, Any]:
    parsed = content.parse_structured_prompt(text)
    if parsed is None:
        raise ApiError(400, f"{field} must be a string containing a valid JSON object")
    return parsed


def dataset_in_training(rt: Runtime, ds: Dataset) -> bool:
    now = rt.clock.now()
    return any(m.dataset_id == ds.id and rt.store.in_training(m, now) for m in rt.store.models.values())


@router.post("/datasets", operation_id="create-dataset", status_code=201)
async def create_dataset(body: CreateDatasetBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    if body.project_id is None:
        raise ApiError(400, "project_id is required")
    if not body.name or not body.name.strip():
        raise ApiError(400, "name is required")
    project = require_project(rt, body.project_id)
    now = rt.clock.now()
    ds = Dataset(
        id=rt.store.next_id("dataset"),
        project_id=project.id,
        name=body.name,
        upload_type=body.upload_type,
        created_at=now,
        updated_at=now,
    )
    rt.store.datasets[ds.id] = ds
    return dataset_view(rt.clock, ds, images_count=False)


@router.get("/datasets", operation_id="get-datasets")
async def get_datasets(request: Request) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    now = rt.clock.now()
    return [
        dataset_view(rt.clock, rt.store.settle_dataset(ds, now)) for ds in list(rt.store.datasets.values())
    ]


@router.get("/projects/{project_id}/datasets", operation_id="get-datasets-by-project")
async def get_datasets_by_project(
    project_id: str, request: Request, include_models: bool = False, include_models_ids: bool = False
) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    project = require_project(rt, project_id)
    now, out = rt.clock.now(), []
    for ds in [d for d in rt.store.datasets.values() if d.project_id == project.id]:
        view = dataset_view(rt.clock, rt.store.settle_dataset(ds, now))
        models = [rt.store.settle_model(m, now) for m in rt.store.models.values() if m.dataset_id == ds.id]
        if include_models:
            view["models"] = [model_view(rt.clock, m) for m in models]
        if include_models_ids:
            view["model_ids"] = [str(m.id) for m in models]
        out.append(view)
    return out


@router.get("/datasets/{dataset_id}", operation_id="get-dataset-by-id")
async def get_dataset(
    dataset_id: int, request: Request, max_images: int = Query(200, ge=1, le=200)
) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    view = dataset_view(rt.clock, ds)
    base = rt.base_url(request)
    view["images"] = [image_view(rt.clock, base, rt.store.images[i]) for i in ds.image_ids[:max_images]]
    return view


@router.put("/datasets/{dataset_id}", operation_id="update-dataset")
async def update_dataset(dataset_id: int, body: UpdateDatasetBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    status = body.status.lower() if body.status is not None else None
    if status is not None and status not in ("draft", "completed"):
        raise ApiError(400, "status must be 'draft' or 'completed'")
    if body.name is not None and not body.name.strip():
        raise ApiError(400, "name cannot be empty")
    if body.visual_schema is not None:
        if ds.status == "completed":
            raise ApiError(409, "Cannot update visual_schema for a completed dataset")
        require_json_object(body.visual_schema, "visual_schema")
    if status == "completed" and ds.status != "completed":
        if len(ds.image_ids) < MIN_IMAGES_TO_COMPLETE:
            raise ApiError(
                409,
                f"Insufficient images to complete: the dataset has {len(ds.image_ids)}, "
                f"at least {MIN_IMAGES_TO_COMPLETE} are required",
            )
        if not (body.visual_schema or ds.visual_schema):
            raise ApiError(409, "A visual_schema is required before completing the dataset")
    if status == "draft" and ds.status == "completed" and dataset_in_training(rt, ds):
        raise ApiError(409, "Cannot change a dataset that is used by a model in training")
    if body.name is not None:
        ds.name = body.name
    if body.visual_schema is not None:
        ds.visual_schema = body.visual_schema
    if status is not None:
        ds.status = status
    ds.updated_at = rt.clock.now()
    return dataset_view(rt.clock, ds, images_count=False)


@router.delete("/datasets/{dataset_id}", operation_id="delete-dataset", status_code=204)
async def delete_dataset(dataset_id: int, request: Request) -> Response:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    if dataset_in_training(rt, ds):
        raise ApiError(409, "Cannot delete a dataset that is used by a model in training")
    rt.store.delete_dataset(ds)
    return Response(status_code=204)


@router.post("/datasets/{dataset_id}/clone", operation_id="clone-dataset", status_code=201)
async def clone_dataset(
    dataset_id: int, request: Request, body: CloneDatasetBody | None = None
) -> dict[str, Any]:
    rt = get_runtime(request)
    source = require_dataset(rt, dataset_id)
    now = rt.clock.now()
    clone = Dataset(
        id=rt.store.next_id("dataset"),
        project_id=source.project_id,
        name=(body and body.name) or f"Copy of {source.name}",
        upload_type=source.upload_type,
        created_at=now,
        updated_at=now,
        visual_schema=source.visual_schema,
        captions_update_status=source.captions_update_status,
    )
    rt.store.datasets[clone.id] = clone
    for image_id in source.image_ids:
        original = rt.store.images[image_id]
        copy = ImageRecord(
            **{
                **original.__dict__,
                "id": rt.store.next_id("image"),
                "dataset_id": clone.id,
                "created_at": now,
                "updated_at": now,
            }
        )
        rt.store.images[copy.id] = copy
        clone.image_ids.append(copy.id)
    view = dataset_view(rt.clock, clone)
    base = rt.base_url(request)
    view["images"] = [image_view(rt.clock, base, rt.store.images[i]) for i in clone.image_ids]
    return view


@download_router.get("/datasets/{dataset_id}/download", operation_id="download-dataset")
async def download_dataset(dataset_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, dataset_id)
    if ds.upload_type != "advanced":
        raise ApiError(409, "Download is only supported for advanced dataset types")
    images = [rt.store.images[i] for i in ds.image_ids]
    files = rt.files

    def build_zip() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for image in images:
                stored = files.get(image.file_id)
                if stored is not None:
                    archive.writestr(f"{image.id}_{image.image_name}", stored[0])
        return out.getvalue()

    key = hashlib.sha256(f"dataset-zip:{ds.id}:{ds.updated_at}:{len(images)}".encode()).hexdigest()[:32]
    body = {"download_url": rt.file_url(request, files.put_lazy(build_zip, "application/zip", key))}
    if images and all(image.caption_source == "automatic" for image in images):
        captions = json.dumps({image.image_name: image.caption for image in images}, indent=1).encode()
        body["captions_url"] = rt.file_url(request, files.put(captions, "application/json"))
    return body


@router.post("/generate_visual_schema", operation_id="generate-visual-schema")
async def generate_visual_schema(body: VisualSchemaBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    images = body.images or []
    if not 5 <= len(images) <= 10:
        raise ApiError(400, f"Provide between 5 and 10 images (got {len(images)})")
    digests = []
    for value in images:
        try:
            _, decoded = await load_image(rt.files, value)
        except InputRejected as exc:
            raise ApiError(exc.status, exc.message) from None
        digests.append(decoded.sha256)
    return {"visual_schema": content.visual_schema(hashlib.sha256("".join(digests).encode()).hexdigest())}


@router.post("/refine_structured_prompt", operation_id="refine-json")
async def refine_structured_prompt(body: RefineBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    ds = require_dataset(rt, body.dataset_id)
    if ds.status != "draft":
        raise ApiError(400, "The dataset must be in draft status to refine structured prompts")
    if not body.instruction.strip():
        raise ApiError(400, "instruction is required")
    structured = require_json_object(body.structured_prompt, "structured_prompt")
    return {"structured_prompt": content.dumps(content.refine(structured, body.instruction))}
