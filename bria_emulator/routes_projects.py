"""v1 projects: /v1/tailored-gen/projects[...]."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from bria_emulator.errors import ApiError
from bria_emulator.runtime import Runtime, get_runtime
from bria_emulator.state import Project
from bria_emulator.views import parse_id, project_view

router = APIRouter(prefix="/v1/tailored-gen", tags=["Project"])

IpMedium = Literal["photography", "illustration"]
IpType = Literal[
    "multi_object_set",
    "object_variants",
    "icons",
    "defined_character",
    "character_variants",
    "stylized_scene",
    "other",
]
ILLUSTRATION_ONLY = {"object_variants", "multi_object_set", "icons", "character_variants"}


class CreateProjectBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    project_name: str | None = None
    project_description: str | None = None
    ip_name: str | None = None
    ip_description: str | None = None
    ip_medium: IpMedium | None = None
    ip_type: IpType | None = None


class UpdateProjectBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # ip_type/ip_medium cannot change: tolerated, ignored
    project_name: str | None = None
    project_description: str | None = None
    ip_name: str | None = None
    ip_description: str | None = None


def validate_project_fields(
    name: str | None, medium: str | None, ip_type: str | None, ip_name: str | None, ip_description: str | None
) -> None:
    if not name or not name.strip():
        raise ApiError(400, "project_name is required")
    if medium is None:
        raise ApiError(400, "ip_medium is required")
    if ip_type is None:
        raise ApiError(400, "ip_type is required")
    if medium not in IpMedium.__args__ or ip_type not in IpType.__args__:  # type: ignore[attr-defined]
        raise ApiError(400, "Invalid ip_medium or ip_type")
    if ip_type in ILLUSTRATION_ONLY and medium != "illustration":
        raise ApiError(400, f"ip_type '{ip_type}' is currently available only when ip_medium = illustration")
    if ip_type == "defined_character" and not (ip_name or "").strip():
        raise ApiError(400, "ip_name is required for ip_type 'defined_character'")
    if ip_type in ("defined_character", "object_variants") and not (ip_description or "").strip():
        raise ApiError(400, f"ip_description is required for ip_type '{ip_type}'")


def create_project_record(
    rt: Runtime,
    name: str,
    description: str,
    medium: str,
    ip_type: str,
    ip_name: str = "",
    ip_description: str = "",
) -> Project:
    now = rt.clock.now()
    project = Project(
        id=rt.store.next_id("project"),
        project_name=name,
        project_description=description,
        ip_name=ip_name,
        ip_description=ip_description,
        ip_medium=medium,
        ip_type=ip_type,
        created_at=now,
        updated_at=now,
    )
    rt.store.projects[project.id] = project
    return project


def require_project(rt: Runtime, project_id: str | int) -> Project:
    project = rt.store.projects.get(parse_id(project_id, "Project"))
    if project is None:
        raise ApiError(404, "Project not found")
    return project


@router.post("/projects", operation_id="create-project", status_code=201)
async def create_project(body: CreateProjectBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    validate_project_fields(
        body.project_name, body.ip_medium, body.ip_type, body.ip_name, body.ip_description
    )
    assert body.project_name and body.ip_medium and body.ip_type
    project = create_project_record(
        rt,
        body.project_name,
        body.project_description or "",
        body.ip_medium,
        body.ip_type,
        body.ip_name or "",
        body.ip_description or "",
    )
    view = project_view(rt.clock, project)
    view.pop("updated_at")  # the create answer has no updated_at (spec example)
    return view


@router.get("/projects", operation_id="get-projects")
async def get_projects(request: Request) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    return [project_view(rt.clock, p) for p in rt.store.projects.values()]


@router.get("/projects/{project_id}", operation_id="get-project-by-id")
async def get_project(project_id: str, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    return project_view(rt.clock, require_project(rt, project_id))


@router.put("/projects/{project_id}", operation_id="update-project")
async def update_project(project_id: str, body: UpdateProjectBody, request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    project = require_project(rt, project_id)
    changes = body.model_dump(
        include={"project_name", "project_description", "ip_name", "ip_description"}, exclude_none=True
    )
    for key, value in changes.items():
        setattr(project, key, value)
    project.updated_at = rt.clock.now()
    return project_view(rt.clock, project)


@router.delete("/projects/{project_id}", operation_id="delete-project", status_code=204)
async def delete_project(project_id: str, request: Request) -> Response:
    rt = get_runtime(request)
    project = require_project(rt, project_id)
    store, now = rt.store, rt.clock.now()
    models = [m for m in store.models.values() if m.project_id == project.id]
    if any(store.in_training(m, now) for m in models):
        raise ApiError(409, "Cannot delete project while models are in training")
    for model in models:  # cascade: models, datasets (and their images), then the project
        store.models.pop(model.id, None)
    for ds in [d for d in store.datasets.values() if d.project_id == project.id]:
        store.delete_dataset(ds)
    store.projects.pop(project.id, None)
    return Response(status_code=204)
