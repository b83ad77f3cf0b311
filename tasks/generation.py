"""Generation tasks: tailored images, FIBO Lite, structured prompts, image-to-video.

Each image lands in the output folder with a JSON sidecar. The file name is derived from the request, so a
re-run finds the finished image and its sidecar and spends nothing: a generation is paid for once.
Between the submit and the saved file, a pending marker next to the output holds the request id, so a retry
or a re-run resumes waiting on that job (``GET /v2/status/{request_id}``) instead of submitting (and paying)
again.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image
from prefect import get_run_logger, runtime, task
from pydantic import BaseModel

from bria_api import Applied, BriaClient, BriaError, BriaResponseError, JobFailedError, NotFoundError
from bria_api.models import (
    GenerateLiteRequest,
    ImageToVideoRequest,
    JobState,
    TailoredImageRequest,
    TailoredStructuredPromptRequest,
)
from bria_api.resources.generation import OPERATION_OF
from tasks._common import TAGS, bria_client, retry_not_applied
from tasks.credentials import BriaCredentials
from tasks.ledger import record_billable
from tasks.lineage import Lineage

SUBMIT = dict(
    tags=TAGS,
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_not_applied,
    timeout_seconds=3600,
)


class SubmittedJobError(BriaError):
    """A transient failure after the job was submitted (status poll, download).

    ``resumable``: the request id is on disk, so a retry resumes waiting on it and spends nothing (safe for
    Prefect to retry). Otherwise a retry would submit, and pay, again: it is final.
    """

    def __init__(self, request_id: str, cause: BriaError, *, resumable: bool) -> None:
        then = "a retry resumes it" if resumable else "not resubmitted (that would pay twice)"
        super().__init__(f"Bria job {request_id} was submitted; waiting for it failed ({cause}); {then}")
        self.request_id = request_id
        self.transient = resumable
        self.applied = Applied.NO if resumable else Applied.MAYBE


class SubmitOutcomeUnknown(BriaError):
    """The submit's answer was lost (5xx, dropped connection, timeout after sending): Bria may have accepted,
    and charged, the job, and without its request id there is nothing to look up. Not resent."""

    applied = Applied.MAYBE

    def __init__(self, operation: str, cause: BriaError) -> None:
        super().__init__(
            f"{operation}: the answer to the submit was lost ({cause}); Bria may have accepted and charged it, "
            "so it is not resent automatically (a re-run submits it again)"
        )


class GeneratedFile(BaseModel):
    """One produced asset on disk and what made it."""

    path: Path
    sidecar: Path
    request_id: str | None
    seed: int | str | None
    sha256: str
    reused: bool = False


def request_key(request: BaseModel) -> str:
    body = request.model_dump(mode="json", exclude_none=True, exclude={"sync", "webhook_url"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _reuse(path: Path, sidecar: Path) -> GeneratedFile | None:
    if not (path.exists() and sidecar.exists()):
        return None
    meta = json.loads(sidecar.read_text())
    if hashlib.sha256(path.read_bytes()).hexdigest() != meta.get("sha256"):
        return None  # a damaged file is regenerated, not trusted
    return GeneratedFile(
        path=path,
        sidecar=sidecar,
        request_id=meta.get("request_id"),
        seed=meta.get("seed"),
        sha256=meta["sha256"],
        reused=True,
    )


def _pending_request_id(marker: Path) -> str | None:
    try:
        return json.loads(marker.read_text())["request_id"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


async def submit_once(bria: BriaClient, request: Any, marker: Path | None, *, timeout: float) -> JobState:
    """Submit (unless ``marker`` names a job already submitted), then wait for the job.

    With a marker, the request id is written before waiting, so any later failure is resumable; without one,
    a transient failure after the submit is final (a retry would pay twice).
    """
    request_id = _pending_request_id(marker) if marker else None
    if request_id is None:
        try:
            request_id = (await bria.generation.submit(request)).request_id
        except BriaError as exc:
            if exc.applied is Applied.MAYBE:  # may be charged: on the ledger, flagged
                await record_billable(
                    OPERATION_OF[type(request)],
                    None,
                    model=getattr(request, "tailored_model_id", None),
                    note="answer lost: Bria may have charged it",
                )
                raise SubmitOutcomeUnknown(OPERATION_OF[type(request)], exc) from exc
            raise
        if marker:
            marker.write_text(
                json.dumps({"request_id": request_id, "operation": OPERATION_OF[type(request)]})
            )
        await record_billable(
            OPERATION_OF[type(request)], request_id, model=getattr(request, "tailored_model_id", None)
        )
    elif marker:
        get_run_logger().info("resuming Bria job %s (already submitted, not paid again)", request_id)
    try:
        return await bria.generation.wait(request_id, timeout=timeout)
    except NotFoundError:
        if marker:  # Bria no longer knows the job: a later run submits anew
            marker.unlink(missing_ok=True)
        raise
    except BriaError as exc:
        if isinstance(exc, JobFailedError) and marker:
            marker.unlink(missing_ok=True)  # it ended: a deliberate re-run submits a new job
        if exc.transient:
            raise SubmittedJobError(request_id, exc, resumable=marker is not None) from exc
        raise


def output_path(request: Any, out_dir: Path, stem: str) -> Path:
    """Where ``request``'s result is saved: the name derives from the request, so re-runs find it."""
    fmt = getattr(request, "output_type", None) or "png"
    ext = "mp4" if isinstance(request, ImageToVideoRequest) else ("jpg" if fmt == "jpeg" else fmt)
    return out_dir / f"{stem}-{request_key(request)}.{ext}"


def already_paid(request: Any, out_dir: Path, stem: str) -> bool:
    """True when running ``request`` again spends nothing: its file is saved, or its job was submitted."""
    path = output_path(request, out_dir, stem)
    marker = path.with_name(path.name + ".pending")
    return _reuse(path, path.with_suffix(".json")) is not None or _pending_request_id(marker) is not None


async def generate_to_file(
    bria: BriaClient,
    request: Any,
    out_dir: Path,
    stem: str,
    *,
    timeout: float,
    extra: dict[str, Any] | None = None,
) -> GeneratedFile:
    """Submit once, wait, download, verify, and write the image with its sidecar (atomically); ``extra``
    fields (lineage ids) go into the sidecar."""
    path = output_path(request, out_dir, stem)
    sidecar = path.with_suffix(".json")
    marker = path.with_name(path.name + ".pending")
    if reused := _reuse(path, sidecar):
        marker.unlink(missing_ok=True)
        return reused
    out_dir.mkdir(parents=True, exist_ok=True)
    job = await submit_once(bria, request, marker, timeout=timeout)
    assert job.result is not None
    url = job.result.image_url or job.result.video_url
    if not url:
        raise BriaResponseError("job completed without an image or video URL", request_id=job.request_id)
    try:
        data = await bria.download(url)
    except BriaError as exc:
        if not exc.transient:
            raise
        raise SubmittedJobError(job.request_id or "?", exc, resumable=True) from exc
    if job.result.image_url:
        try:
            Image.open(io.BytesIO(data)).verify()
        except Exception as exc:  # noqa: BLE001 - any decoder error means a bad download
            raise BriaResponseError(f"downloaded image does not decode ({type(exc).__name__})") from None
    saved = save_with_sidecar(
        path,
        data,
        backend="bria",
        request_id=job.request_id,
        seed=job.result.seed,
        prompt=getattr(request, "prompt", None),
        structured_prompt=job.result.structured_prompt,
        aspect_ratio=getattr(request, "aspect_ratio", None),
        operation=OPERATION_OF[type(request)],
        model_id=getattr(request, "tailored_model_id", None),
        extra=extra,
    )
    marker.unlink(missing_ok=True)
    return saved


def save_with_sidecar(
    path: Path,
    data: bytes,
    *,
    backend: str,
    request_id: str | None,
    seed: int | str | None,
    prompt: str | None,
    structured_prompt: Any,
    aspect_ratio: str | None,
    operation: str,
    model_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> GeneratedFile:
    """Write the file (atomically) and its JSON sidecar, the same shape for every backend."""
    sha = hashlib.sha256(data).hexdigest()
    meta = {
        "backend": backend,
        "request_id": request_id,
        "seed": seed,
        "prompt": prompt,
        "structured_prompt": structured_prompt,
        "aspect_ratio": aspect_ratio,
        "flow_run_id": str(runtime.flow_run.id) if runtime.flow_run.id else None,
        "file": path.name,
        "sha256": sha,
        "created_at": datetime.now(UTC).isoformat(),
        "operation": operation,
        "model_id": model_id,
        **(extra or {}),
    }
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    sidecar = path.with_suffix(".json")
    sidecar.write_text(json.dumps(meta, indent=2, default=str))
    return GeneratedFile(path=path, sidecar=sidecar, request_id=request_id, seed=seed, sha256=sha)


@task(name="generate-tailored-image", task_run_name="tailored-{request.tailored_model_id}-{stem}", **SUBMIT)
async def generate_tailored_image(
    request: TailoredImageRequest,
    out_dir: Path,
    stem: str = "image",
    timeout: float = 900.0,
    credentials: BriaCredentials | None = None,
    lineage: Lineage | None = None,
) -> GeneratedFile:
    """One tailored-model image (async job, polled), saved with its sidecar (with the model's ``lineage``
    ids); reused if already there."""
    extra = lineage.sidecar_fields() if lineage else None
    async with bria_client(credentials) as bria:
        result = await generate_to_file(bria, request, out_dir, stem, timeout=timeout, extra=extra)
    get_run_logger().info("%s %s", "reused" if result.reused else "generated", result.path.name)
    return result


@task(name="generate-lite", task_run_name="lite-{stem}", **SUBMIT)
async def generate_lite_image(
    request: GenerateLiteRequest,
    out_dir: Path,
    stem: str = "lite",
    timeout: float = 900.0,
    credentials: BriaCredentials | None = None,
) -> GeneratedFile:
    """One FIBO Lite image (native ``/v2/image/generate/lite``), saved with its sidecar."""
    async with bria_client(credentials) as bria:
        return await generate_to_file(bria, request, out_dir, stem, timeout=timeout)


@task(
    name="generate-structured-prompt", task_run_name="structured-prompt-{request.tailored_model_id}", **SUBMIT
)
async def generate_structured_prompt(
    request: TailoredStructuredPromptRequest,
    timeout: float = 600.0,
    credentials: BriaCredentials | None = None,
) -> str:
    """A structured prompt from a tailored model (no image)."""
    async with bria_client(credentials) as bria:
        job = await submit_once(bria, request, None, timeout=timeout)
    sp = job.result.structured_prompt if job.result else None
    return sp if isinstance(sp, str) else json.dumps(sp)


@task(name="image-to-video", task_run_name="video-{request.tailored_model_id}-{stem}", **SUBMIT)
async def image_to_video(
    request: ImageToVideoRequest,
    out_dir: Path,
    stem: str = "video",
    timeout: float = 1800.0,
    credentials: BriaCredentials | None = None,
) -> GeneratedFile:
    """A 5-second video from an image with a tailored model, saved with its sidecar."""
    async with bria_client(credentials) as bria:
        return await generate_to_file(bria, request, out_dir, stem, timeout=timeout)
