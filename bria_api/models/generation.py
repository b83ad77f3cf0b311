"""v2 generation requests (tailored, FIBO, Lite, structured prompt, image-to-video) and job results."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from bria_api.models.base import RequestModel, ResponseModel
from bria_api.models.enums import AspectRatio, JobStatus, LJobStatus, OutputType

MAX_PROMPT = 10_000  # our cap: Bria publishes none, and a megabyte prompt is a bug, not a request
MAX_STRUCTURED_PROMPT = 200_000
Seed = Field(default=None, ge=0, le=2_147_483_647)


def _structured_to_text(value: Any) -> Any:
    # bria-mcp sends structured prompts as JSON objects; the spec types them as strings holding JSON.
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise ValueError("structured_prompt must be JSON (an object or a string holding JSON)") from exc
        if not isinstance(parsed, dict):
            raise ValueError("structured_prompt must be a JSON object (or a string holding one)")
    return value


class _Generation(RequestModel):
    prompt: str | None = Field(default=None, min_length=1, max_length=MAX_PROMPT)
    structured_prompt: str | None = Field(default=None, max_length=MAX_STRUCTURED_PROMPT)
    seed: int | None = Seed
    sync: bool | None = None

    _structured = field_validator("structured_prompt", mode="before")(lambda cls, v: _structured_to_text(v))


class TailoredImageRequest(_Generation):
    """``POST /v2/image/generate/tailored``: prompt | structured_prompt (+seed) | structured_prompt + prompt."""

    tailored_model_id: str = Field(min_length=1)
    tailored_model_influence: float | None = Field(default=None, ge=0.0, le=1.5)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    guidance_scale: int | None = Field(default=None, ge=3, le=5)
    aspect_ratio: AspectRatio | None = None
    steps_num: int | None = Field(default=None, ge=20, le=50)
    prompt_content_moderation: bool | None = None
    visual_output_content_moderation: bool | None = None
    webhook_url: AnyHttpUrl | None = (
        None  # not in the tailored spec; Bria's docs: "with any asynchronous request"
    )

    _id_text = field_validator("tailored_model_id", mode="before")(
        lambda cls, v: str(v) if isinstance(v, int) else v
    )

    @model_validator(mode="after")
    def _inputs(self) -> TailoredImageRequest:
        if self.prompt is None and self.structured_prompt is None:
            raise ValueError("give prompt, structured_prompt (with seed), or both")
        if self.structured_prompt is not None and self.prompt is None and self.seed is None:
            raise ValueError("seed is required to recreate an image from structured_prompt alone")
        return self


class TailoredStructuredPromptRequest(_Generation):
    """``POST /v2/structured_prompt/generate/tailored``: prompt, or structured_prompt + prompt."""

    tailored_model_id: str = Field(min_length=1)
    prompt_content_moderation: bool | None = None
    webhook_url: AnyHttpUrl | None = None

    _id_text = field_validator("tailored_model_id", mode="before")(
        lambda cls, v: str(v) if isinstance(v, int) else v
    )

    @model_validator(mode="after")
    def _inputs(self) -> TailoredStructuredPromptRequest:
        if self.prompt is None:
            raise ValueError("prompt is required (alone, or with structured_prompt to refine it)")
        return self


class ImageToVideoRequest(RequestModel):
    """``POST /v2/video/generate/tailored/image-to-video`` (always asynchronous)."""

    tailored_model_id: str = Field(min_length=1)
    image: str = Field(min_length=1, description="URL or base64")
    seed: int | None = Seed

    _id_text = field_validator("tailored_model_id", mode="before")(
        lambda cls, v: str(v) if isinstance(v, int) else v
    )


class _ImageInputs(_Generation):
    images: list[str] | None = Field(default=None, min_length=1, max_length=1)
    webhook_url: AnyHttpUrl | None = None
    ip_signal: bool | None = None
    prompt_content_moderation: bool | None = None
    visual_input_content_moderation: bool | None = None

    @model_validator(mode="after")
    def _inputs(self) -> _ImageInputs:
        # prompt | images | images+prompt | structured_prompt (+seed) | structured_prompt+prompt
        if self.structured_prompt is not None:
            if self.images:
                raise ValueError("structured_prompt cannot be combined with images")
            if (
                self.prompt is None
                and self.seed is None
                and isinstance(self, (GenerateImageRequest, GenerateLiteRequest))
            ):
                raise ValueError("seed is required to recreate an image from structured_prompt alone")
        elif self.prompt is None and not self.images:
            raise ValueError("give prompt, images, or structured_prompt")
        return self


class GenerateImageRequest(_ImageInputs):
    """``POST /v2/image/generate`` (FIBO)."""

    resolution: Literal["1MP", "4MP"] | None = None
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    model_version: Literal["FIBO"] | None = None
    aspect_ratio: AspectRatio | None = None
    steps_num: int | None = Field(default=None, ge=35, le=50)
    output_type: OutputType | None = None
    visual_output_content_moderation: bool | None = None


class GenerateLiteRequest(_ImageInputs):
    """``POST /v2/image/generate/lite`` (FIBO Lite).

    ``steps_num`` and ``guidance_scale`` are not in Lite's spec; Bria's own ComfyUI Lite node sends them
    (8-30 and 3-5), so they are accepted and sent only when set.
    """

    model_version: Literal["FIBO"] | None = None
    aspect_ratio: AspectRatio | None = None
    output_type: OutputType | None = None
    visual_output_content_moderation: bool | None = None
    steps_num: int | None = Field(default=None, ge=8, le=30)
    guidance_scale: int | None = Field(default=None, ge=3, le=5)


class StructuredPromptRequest(_ImageInputs):
    """``POST /v2/structured_prompt/generate``: prompt | images | images+prompt | structured_prompt+prompt."""

    @model_validator(mode="after")
    def _refine_needs_prompt(self) -> StructuredPromptRequest:
        if self.structured_prompt is not None and self.prompt is None:
            raise ValueError("structured_prompt must come with a prompt to refine it")
        return self


class StructuredPromptLiteRequest(StructuredPromptRequest):
    """``POST /v2/structured_prompt/generate/lite``."""


class StructuredPromptFromDiffRequest(RequestModel):
    """``POST /v2/structured_prompt/generate_from_diff``."""

    structured_prompt: str = Field(max_length=MAX_STRUCTURED_PROMPT)
    user_adjusted_structured_prompt: str = Field(max_length=MAX_STRUCTURED_PROMPT)
    seed: int | None = Seed
    sync: bool | None = None
    webhook_url: AnyHttpUrl | None = None
    model_version: Literal["FIBO"] | None = None

    _structured = field_validator("structured_prompt", "user_adjusted_structured_prompt", mode="before")(
        lambda cls, v: _structured_to_text(v)
    )


class JobAccepted(ResponseModel):
    """202 of an asynchronous v2 request."""

    request_id: str
    status_url: str | None = None
    warning: str | None = None


class JobError(ResponseModel):
    code: int | str | None = None
    message: str | None = None
    details: str | None = None


class GenerationResult(ResponseModel):
    image_url: str | None = None
    video_url: str | None = None
    seed: int | str | None = None  # an integer in the schema, a string in the examples
    structured_prompt: str | dict[str, Any] | None = None
    prompt: str | None = None
    refined_prompt: str | None = None


class JobState(ResponseModel):
    """A status-service answer (also the body of webhook deliveries and of sync 200s)."""

    status: LJobStatus
    request_id: str | None = None
    result: GenerationResult | None = None
    error: JobError | None = None
    warning: str | None = None

    @property
    def is_done(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.UNKNOWN, JobStatus.FAILED)
