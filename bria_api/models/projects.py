"""Projects: the top of the tailored-generation resource tree."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from bria_api.models.base import RequestModel, ResponseModel
from bria_api.models.enums import ILLUSTRATION_ONLY_IP_TYPES, IPMedium, IPType, LIPMedium, LIPType

Name = Field(min_length=1, max_length=255)


class CreateProjectRequest(RequestModel):
    project_name: str = Name
    project_description: str | None = Field(default=None, max_length=2000)
    ip_name: str | None = Field(default=None, max_length=100)
    ip_description: str | None = Field(default=None, max_length=500)
    ip_medium: IPMedium
    ip_type: IPType

    @model_validator(mode="after")
    def _spec_rules(self) -> CreateProjectRequest:
        if self.ip_type in ILLUSTRATION_ONLY_IP_TYPES and self.ip_medium is not IPMedium.ILLUSTRATION:
            raise ValueError(
                f"ip_type {self.ip_type.value!r} is only available with ip_medium 'illustration'"
            )
        if self.ip_type is IPType.DEFINED_CHARACTER:
            if not self.ip_name or not 1 <= len(self.ip_name.split()) <= 3:
                raise ValueError("ip_name is required for defined_character and must be 1-3 words")
        if self.ip_type in (IPType.DEFINED_CHARACTER, IPType.OBJECT_VARIANTS):
            if not self.ip_description or len(self.ip_description.split()) > 6:
                raise ValueError(
                    f"ip_description is required for {self.ip_type.value} and must be at most 6 words"
                )
        return self


class UpdateProjectRequest(RequestModel):
    project_name: str | None = Field(default=None, min_length=1, max_length=255)
    project_description: str | None = Field(default=None, max_length=2000)
    ip_name: str | None = Field(default=None, max_length=100)
    ip_description: str | None = Field(default=None, max_length=500)


class Project(ResponseModel):
    id: int
    project_name: str
    project_description: str | None = None
    ip_name: str | None = None
    ip_description: str | None = None
    ip_medium: LIPMedium | None = None
    ip_type: LIPType | None = None
    training_version: str | None = None
    status: str | None = None
    created_at: datetime | str | None = None
    updated_at: datetime | str | None = None
