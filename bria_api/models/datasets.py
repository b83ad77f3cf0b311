"""Datasets, images, captions, bulk ZIP upload, visual schema and structured-prompt refinement."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from bria_api.models.base import RequestModel, ResponseModel
from bria_api.models.enums import (
    DatasetStatus,
    LBulkUploadStatus,
    LCaptionSource,
    LCaptionsUpdateStatus,
    LDatasetStatus,
    LUploadType,
    UploadType,
)

MAX_JSON_TEXT = 200_000  # our own cap on schema/caption/prompt JSON text (Bria refuses bodies over 12 MB)


def _check_json_text(value: str | None, field: str) -> str | None:
    """Schemas, captions and structured prompts are JSON objects held in strings (Bria refuses anything else)."""
    if value is None:
        return value
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"{field} must be a string holding a JSON object") from exc
    if not isinstance(parsed, dict):
        raise ValueError(f"{field} must be a string holding a JSON object")
    return value


class CreateDatasetRequest(RequestModel):
    project_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=255)
    upload_type: UploadType = UploadType.BASIC


class UpdateDatasetRequest(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    visual_schema: str | None = Field(default=None, max_length=MAX_JSON_TEXT)
    status: DatasetStatus | None = None

    @field_validator("visual_schema")
    @classmethod
    def _schema_is_json(cls, value: str | None) -> str | None:
        return _check_json_text(value, "visual_schema")


class CloneDatasetRequest(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)


class Image(ResponseModel):
    id: int
    dataset_id: int | None = None
    caption: str | None = None
    caption_source: LCaptionSource | None = None
    upload_source_url: str | None = None
    image_name: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    created_at: datetime | str | None = None
    updated_at: datetime | str | None = None


class Dataset(ResponseModel):
    id: int
    project_id: int | None = None
    name: str | None = None
    visual_schema: str | None = None
    status: LDatasetStatus | None = None
    captions_update_status: LCaptionsUpdateStatus | None = None
    upload_type: LUploadType | None = None
    images_count: int | None = None
    images: list[Image] | None = None
    models: list[dict[str, Any]] | None = None
    model_ids: list[str] | None = None
    created_at: datetime | str | None = None
    updated_at: datetime | str | None = None


class UploadImageRequest(RequestModel):
    """``file`` (base64) xor ``image_url``. Build it with ``bria_api.images`` so files are checked first."""

    file: str | None = None
    image_url: AnyHttpUrl | None = None
    image_name: str | None = Field(default=None, min_length=1, max_length=255)
    increase_resolution: bool | None = None
    content_moderation: bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> UploadImageRequest:
        if (self.file is None) == (self.image_url is None):
            raise ValueError("give exactly one of file or image_url")
        return self


class UpdateCaptionRequest(RequestModel):
    caption: str | None = Field(default=None, max_length=MAX_JSON_TEXT)
    regenerate_caption: bool | None = None

    @model_validator(mode="after")
    def _caption_xor_regenerate(self) -> UpdateCaptionRequest:
        if (self.caption is not None) == bool(self.regenerate_caption):
            raise ValueError("give exactly one of caption or regenerate_caption=true")
        _check_json_text(self.caption, "caption")
        return self


class BulkUploadRequest(RequestModel):
    zip_url: AnyHttpUrl
    content_moderation: bool | None = None


class FailedImage(ResponseModel):
    filename: str | None = None
    error_code: int | None = None
    error_message: str | None = None


class BulkUploadState(ResponseModel):
    status: LBulkUploadStatus
    progress_percentage: int | None = None
    total_processed: int | None = None
    done: int | None = None
    failed: int | None = None
    failed_images: list[FailedImage] = Field(default_factory=list)


class VisualSchemaRequest(RequestModel):
    images: list[str] = Field(min_length=5, max_length=10, description="5-10 image URLs or base64 strings")
    content_moderation: bool | None = None


class VisualSchema(ResponseModel):
    visual_schema: str


class RefineStructuredPromptRequest(RequestModel):
    dataset_id: int = Field(ge=1)
    structured_prompt: str = Field(min_length=1, max_length=MAX_JSON_TEXT)
    instruction: str = Field(min_length=1, max_length=5000)
    context_images: list[str] | None = Field(default=None, max_length=10)

    @field_validator("structured_prompt")
    @classmethod
    def _prompt_is_json(cls, value: str) -> str:
        return _check_json_text(value, "structured_prompt") or value


class StructuredPromptText(ResponseModel):
    structured_prompt: str


class DatasetDownload(ResponseModel):
    download_url: str
    captions_url: str | None = None
