"""In-memory store and the lazily-evaluated state machines (datasets, bulk uploads, models, v2 jobs)."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from bria_emulator import content

CAPTIONS_SECONDS = 60.0  # regenerate-all-captions: in_progress -> completed
STOPPING_SECONDS = 30.0  # stop_training: Stopping -> Stopped
BULK_PENDING_SECONDS = 5.0
BULK_SECONDS_PER_IMAGE = 1.0
TRAINING_STATES = ("InProgress", "Stopping")

# Distinct id ranges per resource, so a client passing a project id where a dataset id is due gets a 404.
ID_BASES = {"project": 100_001, "dataset": 200_001, "image": 300_001, "model": 400_001}


@dataclass
class Project:
    id: int
    project_name: str
    project_description: str
    ip_name: str
    ip_description: str
    ip_medium: str
    ip_type: str
    created_at: float
    updated_at: float
    training_version: str | None = None


@dataclass
class ImageRecord:
    id: int
    dataset_id: int
    image_name: str
    file_id: str
    thumb_file_id: str
    sha256: str
    width: int
    height: int
    created_at: float
    updated_at: float
    caption: str | None = None
    caption_source: str | None = None
    upload_source_url: str | None = None


@dataclass
class PendingImage:
    """An image accepted by a bulk upload, added to the dataset when the job completes."""

    name: str
    file_id: str
    thumb_file_id: str
    sha256: str
    width: int
    height: int


@dataclass
class BulkEntry:
    filename: str
    image: PendingImage | None = None
    error_code: int = 0
    error_message: str = ""


@dataclass
class BulkJob:
    started_at: float
    entries: list[BulkEntry]
    fatal: str | None = None  # whole archive refused (zip bomb, too many entries, unreadable)
    materialized: bool = False

    @property
    def finishes_at(self) -> float:
        return self.started_at + BULK_PENDING_SECONDS + max(1, len(self.entries)) * BULK_SECONDS_PER_IMAGE

    def snapshot(self, now: float) -> dict[str, Any]:
        elapsed = now - self.started_at - BULK_PENDING_SECONDS
        if elapsed < 0:
            return self._body("pending", 0)
        if self.fatal is not None:
            body = self._body("failed", 0)
            body["failed_images"] = [
                {"filename": "(archive)", "error_code": 400, "error_message": self.fatal}
            ]
            return body
        total = len(self.entries)
        processed = min(total, int(elapsed / BULK_SECONDS_PER_IMAGE))
        status = "completed" if now >= self.finishes_at else "processing"
        return self._body(status, total if status == "completed" else processed)

    def _body(self, status: str, processed: int) -> dict[str, Any]:
        seen = self.entries[:processed]
        failed = [e for e in seen if e.image is None]
        total = len(self.entries)
        return {
            "status": status,
            "progress_percentage": 100
            if status == "completed"
            else (processed * 100 // total if total else 0),
            "total_processed": processed,
            "done": processed - len(failed),
            "failed": len(failed),
            "failed_images": [
                {"filename": e.filename, "error_code": e.error_code, "error_message": e.error_message}
                for e in failed
            ],
        }


@dataclass
class Dataset:
    id: int
    project_id: int
    name: str
    upload_type: str
    created_at: float
    updated_at: float
    visual_schema: str | None = None
    status: str = "draft"
    captions_update_status: str = "empty"
    image_ids: list[int] = field(default_factory=list)
    captions_done_at: float | None = None
    bulk: BulkJob | None = None
    bulk_attempts: int = 0
    duplicate_contents: int = 0


@dataclass
class TrainedModel:
    id: int
    name: str
    description: str
    dataset_id: int | None
    project_id: int
    training_mode: str
    created_at: float
    updated_at: float
    status: str = "Created"
    training_parameters: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    duration: float = 0.0
    stop_at: float | None = None
    checkpoint_steps: list[int] = field(default_factory=list)
    active_model_version: str = "default"
    scripted: bool = False  # a model_status_script took over: the clock no longer moves it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def training_job_id(self) -> int:
        return 900_000 + self.id % 100_000

    def checkpoint_created_at(self, step: int) -> float:
        total = max(1, int(self.training_parameters.get("total_training_steps") or 1))
        return (self.started_at or self.created_at) + self.duration * min(1.0, step / total)


@dataclass
class Job:
    """A v2 generation request; its status is a pure function of the emulated clock."""

    request_id: str
    operation_id: str
    created_at: float
    duration: float
    result: dict[str, Any]
    is_async: bool
    webhook_url: str | None = None
    error: dict[str, Any] | None = None
    error_status: str = "ERROR"
    webhook_queued: bool = False

    def done(self, now: float) -> bool:
        return now >= self.created_at + self.duration

    def body(self, now: float) -> dict[str, Any]:
        if not self.done(now):
            return {"status": "IN_PROGRESS", "request_id": self.request_id}
        if self.error is not None:
            return {"status": self.error_status, "error": self.error, "request_id": self.request_id}
        return {"status": "COMPLETED", "result": self.result, "request_id": self.request_id}


class Store:
    """All emulated Bria state. Every reader calls settle_*() first, so time-based transitions are lazy."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.projects: dict[int, Project] = {}
        self.datasets: dict[int, Dataset] = {}
        self.images: dict[int, ImageRecord] = {}
        self.models: dict[int, TrainedModel] = {}
        self.jobs: dict[str, Job] = {}
        self._ids = {kind: itertools.count(base) for kind, base in ID_BASES.items()}

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    # --- datasets -------------------------------------------------------------------------------
    def settle_dataset(self, ds: Dataset, now: float) -> Dataset:
        if ds.captions_done_at is not None and now >= ds.captions_done_at:
            for image_id in ds.image_ids:
                self._auto_caption(ds, self.images[image_id], ds.captions_done_at)
            ds.captions_update_status = "completed"
            ds.updated_at = ds.captions_done_at
            ds.captions_done_at = None
        bulk = ds.bulk
        if bulk and not bulk.materialized and bulk.fatal is None and now >= bulk.finishes_at:
            bulk.materialized = True
            for entry in bulk.entries:
                if entry.image is not None:
                    self.add_image(ds, entry.image, bulk.finishes_at, source_url=None)
        return ds

    def _auto_caption(self, ds: Dataset, image: ImageRecord, at: float) -> None:
        if ds.visual_schema:
            image.caption = content.caption(ds.visual_schema, image.sha256, image.image_name)
            image.caption_source = "automatic"
            image.updated_at = at

    def add_image(
        self, ds: Dataset, pending: PendingImage, now: float, source_url: str | None
    ) -> ImageRecord:
        if any(self.images[i].sha256 == pending.sha256 for i in ds.image_ids):
            ds.duplicate_contents += 1  # Bria accepts duplicates; the stats make them visible
        image = ImageRecord(
            id=self.next_id("image"),
            dataset_id=ds.id,
            image_name=pending.name,
            file_id=pending.file_id,
            thumb_file_id=pending.thumb_file_id,
            sha256=pending.sha256,
            width=pending.width,
            height=pending.height,
            created_at=now,
            updated_at=now,
            upload_source_url=source_url,
        )
        self._auto_caption(ds, image, now)
        if image.caption and ds.captions_update_status == "empty":
            ds.captions_update_status = "completed"
        self.images[image.id] = image
        ds.image_ids.append(image.id)
        ds.updated_at = now
        return image

    def delete_dataset(self, ds: Dataset) -> None:
        for image_id in ds.image_ids:
            self.images.pop(image_id, None)
        self.datasets.pop(ds.id, None)

    # --- models ---------------------------------------------------------------------------------
    def settle_model(self, model: TrainedModel, now: float) -> TrainedModel:
        if model.scripted:
            return model
        if (
            model.status == "InProgress"
            and model.started_at is not None
            and now >= model.started_at + model.duration
        ):
            self.complete_model(model, model.started_at + model.duration)
        elif model.status == "Stopping" and model.stop_at is not None and now >= model.stop_at:
            model.status = "Stopped"
            model.updated_at = model.stop_at
        return model

    def complete_model(self, model: TrainedModel, at: float) -> None:
        model.status = "Completed"
        model.updated_at = at
        if model.training_mode == "expert" and model.training_parameters:
            total = int(model.training_parameters["total_training_steps"])
            interval = int(model.training_parameters["checkpoint_interval"])
            steps = list(range(interval, total + 1, interval))
            if not steps or steps[-1] != total:
                steps.append(total)
            model.checkpoint_steps = steps
            model.active_model_version = str(steps[-1])

    def apply_scripted_status(self, model: TrainedModel, status: str, now: float) -> None:
        model.scripted = True
        if status == "Completed" and model.status != "Completed":
            self.complete_model(model, now)
        elif status != model.status:
            model.status = status
            model.updated_at = now

    def training_duration(self, model_id: int, seed: int, configured: float | None) -> float:
        """Configured, else a realistic 4-6 h drawn deterministically per (seed, model id)."""
        if configured is not None:
            return configured
        digest = hashlib.sha256(f"{seed}:{model_id}".encode()).digest()
        return 4 * 3600 + int.from_bytes(digest[:4], "big") % (2 * 3600)

    def in_training(self, model: TrainedModel, now: float) -> bool:
        return self.settle_model(model, now).status in TRAINING_STATES

    # --- jobs -----------------------------------------------------------------------------------
    def active_async_jobs(self, now: float) -> int:
        return sum(1 for job in self.jobs.values() if job.is_async and not job.done(now))

    def resource_counts(self) -> dict[str, int]:
        return {
            "projects": len(self.projects),
            "datasets": len(self.datasets),
            "models": len(self.models),
            "images": len(self.images),
            "jobs": len(self.jobs),
        }
