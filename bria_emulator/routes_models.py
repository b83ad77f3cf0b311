"""v1 models: CRUD, training state machine, checkpoints, downloads, upload_model (stray spec block)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bria_emulator.errors import ApiError, v1_string
from bria_emulator.images import fake_safetensors
from bria_emulator.routes_datasets import require_dataset
from bria_emulator.routes_projects import create_project_record, require_project, validate_project_fields
from bria_emulator.runtime import Runtime, get_runtime
from bria_emulator.state import STOPPING_SECONDS, TrainedModel
from bria_emulator.views import model_summary, model_view, parse_id

router = APIRouter(prefix="/v1/tailored-gen", tags=["Model"])
EXPERT_DEFAULTS = {
    "learning_rate": 0.0001,
    "lr_scheduler": "constant_with_warmup",
    "rank": 128,
    "total_training_steps": 750,
    "checkpoint_interval": 500,
    "lr_warmup_steps": 100,
}
EXPERT_ONLY_MESSAGE = "Advanced training parameters are only supported when training_mode is set to 'expert'."


class CreateModelBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # seed-era training_version / training_method are tolerated
    name: str | None = None
    dataset_id: int | None = None
    training_mode: Literal["fully_automated", "expert"] = "fully_automated"
    description: str | None = None


class UpdateModelBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    description: str | None = None


class StartTrainingBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    lr_scheduler: (
        Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"]
        | None
    ) = None
    learning_rate: float | None = Field(None, ge=0.000001, le=0.001)
    total_training_steps: int | None = Field(None, ge=1, le=5000)
    rank: int | None = Field(None, ge=4, le=256)
    checkpoint_interval: int | None = Field(None, ge=100)
    lr_warmup_steps: int | None = Field(None, ge=0, le=1000)


class UploadModelBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_url: str | None = None
    model_name: str | None = None
    project_id: int | None = None
    project_parameters: dict[str, Any] | None = None


def require_model(rt: Runtime, model_id: str | int, *, string_errors: bool = False) -> TrainedModel:
    model = rt.store.models.get(parse_id(model_id, "Model"))
    if model is None:
        raise v1_string(404, "Model not found") if string_errors else ApiError(404, "Model not found")
    return rt.store.settle_model(model, rt.clock.now())


def automated_parameters(rt: Runtime, model: TrainedModel) -> dict[str, Any]:
    """'Configured from dataset size and IP medium/type': a plausible, deterministic recipe."""
    ds = rt.store.datasets.get(model.dataset_id or -1)
    count = len(ds.image_ids) if ds else 0
    project = rt.store.projects.get(model.project_id)
    steps = 750 if count <= 20 else min(3000, 750 + (count - 20) * 25)
    rank = 64 if project and project.ip_medium == "illustration" else 128
    return {**EXPERT_DEFAULTS, "rank": rank, "total_training_steps": steps}


@router.post("/models", operation_id="create-model", status_code=201)
async def create_model(body: CreateModelBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    if not body.name or not body.name.strip():
        raise ApiError(400, "name is required")
    if body.dataset_id is None:
        raise ApiError(400, "dataset_id is required")
    ds = require_dataset(rt, body.dataset_id)
    now = rt.clock.now()
    model = TrainedModel(
        id=rt.store.next_id("model"),
        name=body.name,
        description=body.description or "",
        dataset_id=ds.id,
        project_id=ds.project_id,
        training_mode=body.training_mode,
        created_at=now,
        updated_at=now,
        extra=dict(body.model_extra or {}),
    )
    rt.store.models[model.id] = model
    project = rt.store.projects.get(ds.project_id)
    if project is not None and project.training_version is None:
        project.training_version = "fibo"  # the first model locks the project's training family
    return model_view(rt.clock, model)


@router.get("/models", operation_id="get-models")
async def get_models(request: Request, include_training_parameters: bool = False) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    now = rt.clock.now()
    return [
        model_view(rt.clock, rt.store.settle_model(m, now), training_details=include_training_parameters)
        for m in list(rt.store.models.values())
    ]


@router.get("/projects/{project_id}/models", operation_id="get-models-by-project")
async def get_models_by_project(
    project_id: int, request: Request, include_training_parameters: bool = False
) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    project = require_project(rt, project_id)
    now = rt.clock.now()
    return [
        model_view(rt.clock, rt.store.settle_model(m, now), training_details=include_training_parameters)
        for m in list(rt.store.models.values())
        if m.project_id == project.id
    ]


@router.get("/models/{model_id}", operation_id="get-model")
async def get_model(model_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    model = require_model(rt, model_id)
    if model.started_at is not None:
        scripted = rt.faults.next_scripted_status(model.id)
        if scripted is not None:
            rt.store.apply_scripted_status(model, scripted, rt.clock.now())
    return model_view(rt.clock, model)


@router.put("/models/{model_id}", operation_id="update-model")
async def update_model(model_id: int, body: UpdateModelBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    model = require_model(rt, model_id)
    if body.name is not None:
        model.name = body.name
    if body.description is not None:
        model.description = body.description
    model.updated_at = rt.clock.now()
    return model_summary(rt.clock, model)


@router.delete("/models/{model_id}", operation_id="delete-model", status_code=204)
async def delete_model(model_id: int, request: Request) -> Response:
    rt = get_runtime(request)
    model = require_model(rt, model_id)
    if rt.store.in_training(model, rt.clock.now()):
        raise ApiError(409, "Cannot delete model while it is in training")
    rt.store.models.pop(model.id, None)
    return Response(status_code=204)


@router.post("/models/{model_id}/start_training", operation_id="start-training")
async def start_training(
    model_id: int, request: Request, body: StartTrainingBody | None = None
) -> dict[str, Any]:
    rt = get_runtime(request)
    model = require_model(rt, model_id)
    if model.status in ("Stopping", "Stopped"):
        raise ApiError(409, "Model training was stopped and cannot be resumed")
    if model.status != "Created":
        raise ApiError(409, "Model training already started")
    given = body.model_dump(include=set(EXPERT_DEFAULTS), exclude_none=True) if body else {}
    if given and model.training_mode != "expert":
        raise ApiError(400, EXPERT_ONLY_MESSAGE)
    ds = rt.store.datasets.get(model.dataset_id or -1)
    if ds is None or rt.store.settle_dataset(ds, rt.clock.now()).status != "completed":
        raise ApiError(412, "Dataset status must be 'completed' to start training")
    params = (
        {**EXPERT_DEFAULTS, **given} if model.training_mode == "expert" else automated_parameters(rt, model)
    )
    if params["lr_scheduler"] != "constant_with_warmup":
        params["lr_warmup_steps"] = None  # warmup is only meaningful with constant_with_warmup
    now = rt.clock.now()
    model.training_parameters = params
    model.status, model.started_at, model.updated_at = "InProgress", now, now
    model.duration = rt.store.training_duration(model.id, rt.config.seed, rt.config.training_seconds)
    return model_view(rt.clock, model)


@router.post("/models/{model_id}/stop_training", operation_id="stop-training")
async def stop_training(model_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    model = require_model(rt, model_id)
    if model.status != "InProgress":
        raise ApiError(409, f"Model is not in training (status {model.status})")
    now = rt.clock.now()
    model.status, model.stop_at, model.updated_at = "Stopping", now + STOPPING_SECONDS, now
    model.scripted = False  # a stop request always wins over a status script
    return model_view(rt.clock, model)


def _completed_expert(rt: Runtime, model_id: int) -> TrainedModel:
    model = require_model(rt, model_id, string_errors=True)
    if model.status != "Completed":
        raise v1_string(400, "The model status is not completed")
    if model.training_mode != "expert":
        raise v1_string(400, "Checkpoints are only available for models trained in expert mode")
    return model


def _checkpoint_view(rt: Runtime, model: TrainedModel, step: int) -> dict[str, Any]:
    return {
        "checkpoint_step": step,
        "training_job_id": model.training_job_id,
        "created_at": rt.clock.iso_micro(model.checkpoint_created_at(step)),
    }


@router.get("/models/{model_id}/checkpoints", operation_id="list-checkpoints")
async def list_checkpoints(model_id: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    model = _completed_expert(rt, model_id)
    return {
        "checkpoints": [_checkpoint_view(rt, model, s) for s in sorted(model.checkpoint_steps)],
        "active_model_version": model.active_model_version,
    }


@router.get("/models/{model_id}/checkpoints/{checkpoint_step}", operation_id="get-checkpoint")
async def get_checkpoint(model_id: int, checkpoint_step: int, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    model = _completed_expert(rt, model_id)
    if checkpoint_step not in model.checkpoint_steps:
        raise v1_string(404, "Checkpoint not found")
    return _checkpoint_view(rt, model, checkpoint_step)


@router.delete(
    "/models/{model_id}/checkpoints/{checkpoint_step}", operation_id="delete-checkpoint", status_code=204
)
async def delete_checkpoint(model_id: int, checkpoint_step: int, request: Request) -> Response:
    rt = get_runtime(request)
    model = _completed_expert(rt, model_id)
    if checkpoint_step not in model.checkpoint_steps:
        raise v1_string(404, "Checkpoint not found")
    if str(checkpoint_step) == model.active_model_version:
        raise v1_string(400, "Cannot delete checkpoint currently selected for inference")
    model.checkpoint_steps.remove(checkpoint_step)
    return Response(status_code=204)


@router.get("/models/{model_id}/download", operation_id="download-tailored-model")
async def download_tailored_model(model_id: str, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    model = require_model(rt, model_id)
    if model.status != "Completed":
        raise ApiError(400, f"Model is not available for download (status {model.status})")
    key = f"model:{model.id}:{model.active_model_version}"
    file_id = rt.files.put_lazy(
        lambda: fake_safetensors(key), "application/octet-stream", f"model{model.id:026d}"
    )
    return {
        "download_url": rt.file_url(request, file_id),
        "base_model_name": "BRIA-FIBO",
        "base_model_card": "https://huggingface.co/briaai/BRIA-FIBO",
    }


@router.post("/models/upload_model", operation_id="upload-model")
async def upload_model(body: UploadModelBody, request: Request) -> dict[str, Any]:
    """Only in the spec's stray top-level block; served for completeness (status 'Completed' at once)."""
    rt = get_runtime(request)
    url = (body.model_url or "").strip()
    if not url:
        raise ApiError(400, "model_url is required")
    if not url.startswith(("http://", "https://")):
        raise ApiError(422, "model_url must be an accessible http(s) URL")
    if not url.split("?", 1)[0].endswith(".safetensors"):
        raise ApiError(415, "Model must be in .safetensors format")
    if body.project_id is not None:
        project = require_project(rt, body.project_id)
    else:
        params = body.project_parameters or {}
        ip_type = params.get("ip_type") or "other"
        validate_project_fields(
            params.get("project_name"),
            params.get("ip_medium"),
            ip_type,
            params.get("ip_name"),
            params.get("ip_description"),
        )
        project = create_project_record(
            rt, params["project_name"], params.get("project_description") or "", params["ip_medium"], ip_type
        )
    now = rt.clock.now()
    model = TrainedModel(
        id=rt.store.next_id("model"),
        name=body.model_name or "Uploaded model",
        description="",
        dataset_id=None,
        project_id=project.id,
        training_mode="fully_automated",
        created_at=now,
        updated_at=now,
        status="Completed",
        started_at=now,
    )
    rt.store.models[model.id] = model
    return model_summary(rt.clock, model)
