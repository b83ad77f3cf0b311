"""Tailored models, training parameters and checkpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from bria_api.models.base import RequestModel, ResponseModel
from bria_api.models.enums import LModelStatus, LrScheduler, LTrainingMode, ModelStatus, TrainingMode


class CreateModelRequest(RequestModel):
    name: str = Field(min_length=1, max_length=255)
    dataset_id: int = Field(ge=1)
    training_mode: TrainingMode = TrainingMode.FULLY_AUTOMATED
    description: str | None = Field(default=None, max_length=2000)


class UpdateModelRequest(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)


class TrainingParameters(RequestModel):
    """Expert-mode training recipe (start_training body). Sending any of these for a fully_automated model
    is refused by Bria with 400, so the client sends nothing unless a field is set."""

    lr_scheduler: LrScheduler | None = None
    learning_rate: float | None = Field(default=None, ge=1e-6, le=1e-3)
    total_training_steps: int | None = Field(default=None, ge=1, le=5000)
    rank: int | None = Field(default=None, ge=4, le=256)
    checkpoint_interval: int | None = Field(default=None, ge=100)
    lr_warmup_steps: int | None = Field(default=None, ge=0, le=1000)


class AppliedTrainingParameters(ResponseModel):
    learning_rate: float | None = None
    lr_scheduler: str | None = None
    rank: int | None = None
    total_training_steps: int | None = None
    checkpoint_interval: int | None = None
    lr_warmup_steps: int | None = None


class TailoredModel(ResponseModel):
    id: int
    name: str | None = None
    description: str | None = None
    status: LModelStatus
    training_mode: LTrainingMode | None = None
    project_id: int | None = None
    dataset_id: int | None = None
    active_model_version: str | None = None
    training_parameters: AppliedTrainingParameters | None = None
    checkpoint_steps: list[str] | None = None
    custom_metadata: str | None = None
    created_at: datetime | str | None = None
    updated_at: datetime | str | None = None

    @property
    def known_status(self) -> ModelStatus | None:
        """The status as an enum, or None when Bria sent a value this client does not know."""
        return self.status if isinstance(self.status, ModelStatus) else None


class Checkpoint(ResponseModel):
    checkpoint_step: int
    training_job_id: int | None = None
    created_at: datetime | str | None = None


class CheckpointList(ResponseModel):
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    active_model_version: str | None = None


class ModelDownload(ResponseModel):
    download_url: str
    base_model_name: str | None = None
    base_model_card: str | None = None
