"""``client.projects``: create, list, get, update, delete, and find by name."""

from __future__ import annotations

from bria_api.models.enums import IPMedium, IPType
from bria_api.models.projects import CreateProjectRequest, Project, UpdateProjectRequest
from bria_api.resources._base import Resource, build


class Projects(Resource):
    async def create(
        self,
        project_name: str,
        *,
        ip_medium: IPMedium | str,
        ip_type: IPType | str,
        project_description: str | None = None,
        ip_name: str | None = None,
        ip_description: str | None = None,
    ) -> Project:
        body = build(CreateProjectRequest, locals())
        return await self._call("create-project", Project, body=body)

    async def list(self) -> list[Project]:
        return await self._call("get-projects", list[Project])

    async def get(self, project_id: int) -> Project:
        return await self._call("get-project-by-id", Project, path={"project_id": project_id})

    async def update(
        self,
        project_id: int,
        *,
        project_name: str | None = None,
        project_description: str | None = None,
        ip_name: str | None = None,
        ip_description: str | None = None,
    ) -> Project:
        body = build(UpdateProjectRequest, locals(), exclude=("project_id",))
        return await self._call("update-project", Project, path={"project_id": project_id}, body=body)

    async def delete(self, project_id: int) -> None:
        await self._call("delete-project", path={"project_id": project_id})

    async def find_by_name(self, project_name: str) -> list[Project]:
        """Projects with exactly this name, oldest first (Bria has no idempotency keys: names are our keys)."""
        return sorted((p for p in await self.list() if p.project_name == project_name), key=lambda p: p.id)
