"""Typed flow parameters: pydantic models and Literals, so the Prefect UI renders proper forms.

No secret is ever a parameter: credentials come from a ``BriaCredentials`` block or the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from bria_api.models import TrainingParameters

AspectRatio = Literal["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9"]


class ProjectParams(BaseModel):
    """The Bria project (found by name; created when missing)."""

    project_name: str = Field(
        min_length=1, max_length=255, description="Unique name: re-runs re-attach to it"
    )
    ip_medium: Literal["photography", "illustration"] = "photography"
    ip_type: Literal[
        "other",
        "stylized_scene",
        "defined_character",
        "multi_object_set",
        "object_variants",
        "icons",
        "character_variants",
    ] = "other"
    ip_name: str | None = Field(default=None, description="Required for defined_character (1-3 words)")
    ip_description: str | None = Field(
        default=None, description="For defined_character and object_variants (≤6 words)"
    )
    project_description: str | None = None


class DatasetParams(BaseModel):
    """The local images and the Bria dataset they go to."""

    name: str = Field(
        min_length=1, max_length=255, description="Dataset name within the project (re-runs re-attach)"
    )
    images_dir: Path = Field(description="Folder of 5-200 JPEG/PNG/WEBP images")
    upload_type: Literal["basic", "advanced"] = "basic"
    zip_url: str | None = Field(default=None, description="Advanced datasets: a public URL of the image ZIP")
    increase_resolution: bool = Field(default=True, description="Let Bria upscale images of 256-1023 px")
    schema_sample_size: int = Field(
        default=8, ge=5, le=10, description="Images sampled for the visual schema"
    )
    refine_instruction: str | None = Field(
        default=None, description="Optional instruction to refine the schema"
    )
    upload_concurrency: int = Field(default=16, ge=1, le=32, description="Uploads in flight at once")
    caption_poll_seconds: float = Field(default=10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _zip_for_advanced(self) -> DatasetParams:
        if self.upload_type == "advanced" and not self.zip_url:
            raise ValueError("advanced datasets are uploaded as one ZIP: set zip_url")
        return self


class TrainingParams(BaseModel):
    """The tailored model and how to wait for its training."""

    model_name: str = Field(min_length=1, max_length=255, description="Model name (re-runs re-attach to it)")
    training_mode: Literal["fully_automated", "expert"] = "fully_automated"
    expert: TrainingParameters | None = Field(
        default=None, description="Expert-mode recipe (expert mode only)"
    )
    poll_initial_seconds: float = Field(default=30.0, gt=0, le=3600)
    poll_max_seconds: float = Field(default=300.0, gt=0, le=3600)
    max_wait_hours: float = Field(default=8.0, gt=0, le=72)
    expected_hours: float = Field(default=5.0, gt=0, le=48, description="For the ETA and stall alarm")

    model_config = {"protected_namespaces": ()}

    @model_validator(mode="after")
    def _expert_only(self) -> TrainingParams:
        if self.expert is not None and self.expert.to_body() and self.training_mode != "expert":
            raise ValueError("expert training parameters need training_mode 'expert'")
        return self


class PromptSpec(BaseModel):
    """One generation: a prompt with an optional fixed seed and aspect ratio."""

    prompt: str = Field(min_length=1, max_length=10_000)
    seed: int | None = Field(default=None, ge=0, le=2_147_483_647)
    aspect_ratio: AspectRatio | None = None
    negative_prompt: str | None = None


def load_prompts(prompts: list[PromptSpec] | None, prompts_file: Path | None) -> list[PromptSpec]:
    """Prompts from the list and/or a file (JSON list, JSON lines, or one prompt per line)."""
    import json

    out = list(prompts or [])
    if prompts_file:
        text = Path(prompts_file).read_text()
        try:
            data = json.loads(text)
            items = data if isinstance(data, list) else [data]
        except ValueError:
            items = []
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    items.append(json.loads(line) if line.startswith("{") else {"prompt": line})
        out += [PromptSpec.model_validate(i if isinstance(i, dict) else {"prompt": str(i)}) for i in items]
    if not out:
        raise ValueError("no prompts: give prompts or prompts_file")
    return out
