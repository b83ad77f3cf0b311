"""The spec's enums. Response fields accept unknown values too (``Enum | str``) so drift is not fatal."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import Field


class IPMedium(str, Enum):
    PHOTOGRAPHY = "photography"
    ILLUSTRATION = "illustration"


class IPType(str, Enum):
    MULTI_OBJECT_SET = "multi_object_set"
    OBJECT_VARIANTS = "object_variants"
    ICONS = "icons"
    DEFINED_CHARACTER = "defined_character"
    CHARACTER_VARIANTS = "character_variants"
    STYLIZED_SCENE = "stylized_scene"
    OTHER = "other"


# "currently available only when ip_medium = illustration" (create-project)
ILLUSTRATION_ONLY_IP_TYPES = frozenset(
    {IPType.OBJECT_VARIANTS, IPType.MULTI_OBJECT_SET, IPType.ICONS, IPType.CHARACTER_VARIANTS}
)


class UploadType(str, Enum):
    BASIC = "basic"
    ADVANCED = "advanced"


class DatasetStatus(str, Enum):
    DRAFT = "draft"
    COMPLETED = "completed"

    @classmethod
    def _missing_(cls, value: object) -> DatasetStatus | None:
        # Bria's cookbook sent "Completed" and got a 200: accept any case.
        if isinstance(value, str):
            for member in cls:
                if member.value == value.lower():
                    return member
        return None


class CaptionsUpdateStatus(str, Enum):
    EMPTY = "empty"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class CaptionSource(str, Enum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"
    PENDING = "pending"


class BulkUploadStatus(str, Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class ModelStatus(str, Enum):
    """Training states. ``Stopped`` is terminal and never a success."""

    CREATED = "Created"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (ModelStatus.COMPLETED, ModelStatus.FAILED, ModelStatus.STOPPED)

    @property
    def is_success(self) -> bool:
        return self is ModelStatus.COMPLETED

    @property
    def is_training(self) -> bool:
        return self in (ModelStatus.IN_PROGRESS, ModelStatus.STOPPING)


class TrainingMode(str, Enum):
    FULLY_AUTOMATED = "fully_automated"
    EXPERT = "expert"


class LrScheduler(str, Enum):
    LINEAR = "linear"
    COSINE = "cosine"
    COSINE_WITH_RESTARTS = "cosine_with_restarts"
    POLYNOMIAL = "polynomial"
    CONSTANT = "constant"
    CONSTANT_WITH_WARMUP = "constant_with_warmup"


class JobStatus(str, Enum):
    """v2 status service values (``FAILED`` is what bria-skill docs say instead of ``ERROR``)."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    UNKNOWN = "UNKNOWN"
    FAILED = "FAILED"


AspectRatio = Literal["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9"]
OutputType = Literal["png", "jpeg"]


def lenient(enum: type[Enum]) -> Any:
    """A response field type: the enum member when the value is known, else the raw string (drift is not fatal)."""
    return Annotated[Union[enum, str], Field(union_mode="left_to_right")]  # noqa: UP007 - runtime union of a variable


LModelStatus = lenient(ModelStatus)
LDatasetStatus = lenient(DatasetStatus)
LCaptionsUpdateStatus = lenient(CaptionsUpdateStatus)
LCaptionSource = lenient(CaptionSource)
LUploadType = lenient(UploadType)
LBulkUploadStatus = lenient(BulkUploadStatus)
LJobStatus = lenient(JobStatus)
LTrainingMode = lenient(TrainingMode)
LIPMedium = lenient(IPMedium)
LIPType = lenient(IPType)
