"""v2 generation mechanics shared by FIBO, Lite and tailored routes: input rules, results, job submission."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from bria_emulator import content
from bria_emulator.errors import ApiError, reason
from bria_emulator.images import ASPECT_SIZES, render_image
from bria_emulator.inputs import InputRejected, load_image
from bria_emulator.runtime import Runtime
from bria_emulator.state import Job, TrainedModel

IP_WORDS = ("mickey", "disney", "marvel", "pokemon", "pikachu", "batman", "superman", "star wars", "nike")


@dataclass
class Inputs:
    """Normalized request inputs after the combination rules were checked."""

    prompt: str | None
    structured: dict[str, Any] | None
    structured_text: str | None
    images_digest: str | None
    seed: int


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


async def check_inputs(
    rt: Runtime,
    *,
    prompt: str | None,
    structured: str | dict[str, Any] | None,
    images: list[str] | None,
    seed: int | None,
    allow_images: bool,
    structured_alone: bool,
) -> Inputs:
    """Bria's mutually exclusive combinations; structured_alone = 'recreate' allowed (it needs a seed)."""
    has_p, has_sp, has_i = _present(prompt), _present(structured), _present(images)
    if has_i and not allow_images:
        raise ApiError(400, "images are not supported by this endpoint")
    if has_i and len(images or []) > 1:
        raise ApiError(400, "Only a single image is currently supported in images")
    if has_sp and has_i:
        raise ApiError(400, "structured_prompt cannot be combined with images")
    if not (has_p or has_sp or has_i):
        raise ApiError(
            400, "One of prompt, structured_prompt" + (" or images" if allow_images else "") + " is required"
        )
    if has_sp and not has_p:
        if not structured_alone:
            raise ApiError(400, "structured_prompt must be combined with prompt on this endpoint")
        if seed is None:
            raise ApiError(400, "seed is required when recreating an image from structured_prompt")
    parsed = content.parse_structured_prompt(structured) if has_sp else None  # type: ignore[arg-type]
    if has_sp and parsed is None:
        raise ApiError(400, "structured_prompt must be a JSON object (or a string holding one)")
    digest = None
    if has_i:
        try:
            _, decoded = await load_image(rt.files, (images or [""])[0])
        except InputRejected as exc:
            # These specs document 422 (not 415) for unusable visual input.
            raise ApiError(422 if exc.status == 415 else exc.status, exc.message) from None
        digest = decoded.sha256
    text = (
        structured if isinstance(structured, str) and has_sp else (content.dumps(parsed) if parsed else None)
    )
    return Inputs(prompt if has_p else None, parsed, text, digest, rt.random_seed() if seed is None else seed)


def result_structured_prompt(inputs: Inputs, context: str) -> str:
    if inputs.structured is not None and inputs.prompt:
        return content.dumps(content.refine(inputs.structured, inputs.prompt))
    if inputs.structured_text is not None:
        return inputs.structured_text  # recreate: echo exactly what was sent
    subject_context = f"{context} image:{inputs.images_digest}" if inputs.images_digest else context
    return content.dumps(content.structured_prompt_dict(inputs.prompt, inputs.seed, subject_context))


def image_result(
    rt: Runtime,
    request: Request,
    inputs: Inputs,
    *,
    family: str,
    aspect_ratio: str,
    output_type: str = "png",
    resolution: str = "1MP",
) -> dict[str, Any]:
    """Result with a deterministic file: same (model, prompt, seed, ratio, format) -> same URL and bytes."""
    structured = result_structured_prompt(inputs, family)
    width, height = ASPECT_SIZES[aspect_ratio]
    if resolution == "4MP":
        width, height = width * 2, height * 2
    # The picture is a function of the final structured prompt (not the raw prompt), so "recreate"
    # (structured_prompt + seed) gives back exactly the same image, as Bria documents.
    key = json.dumps([family, structured, inputs.seed, aspect_ratio, resolution, output_type])
    caption = str(json.loads(structured).get("short_description", "")) or (inputs.prompt or "")
    file_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    media = "image/jpeg" if output_type == "jpeg" else "image/png"
    rt.files.put_lazy(lambda: render_image(key, caption, width, height, output_type), media, file_id)
    return {"image_url": rt.file_url(request, file_id), "seed": inputs.seed, "structured_prompt": structured}


def ip_warning(prompt: str | None, ip_signal: bool) -> str | None:
    lowered = (prompt or "").lower()
    hits = [word for word in IP_WORDS if word in lowered]
    if ip_signal and hits:
        return f"The prompt may contain protected IP content: {', '.join(hits)}"
    return None


def check_webhook_url(url: str | None) -> str | None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise ApiError(400, "webhook_url must be an http(s) URL")
    return url


def tailored_model(rt: Runtime, body: Any) -> TrainedModel:
    """tailored_model_id (spec) or model_id (bria-skill / old SDK alias); must exist and be Completed."""
    raw = body.tailored_model_id if body.tailored_model_id is not None else body.model_id
    if raw is None or str(raw).strip() == "":
        raise ApiError(400, "tailored_model_id is required")
    try:
        model = rt.store.models.get(int(str(raw).strip()))
    except ValueError:
        model = None
    if model is None:
        raise ApiError(404, f"Tailored model {str(raw)[:64]} not found")
    model = rt.store.settle_model(model, rt.clock.now())
    if model.status != "Completed":
        raise ApiError(400, f"Tailored model is not ready for generation (status {model.status})")
    return model


def submit(
    rt: Runtime,
    request: Request,
    result: dict[str, Any],
    *,
    sync: bool,
    duration: float,
    webhook_url: str | None = None,
    warning: str | None = None,
) -> JSONResponse:
    """Register the job; sync answers the result now (200), async answers 202 + status_url."""
    now = rt.clock.now()
    if not sync and rt.faults.profile.max_concurrent_jobs is not None:
        if rt.store.active_async_jobs(now) >= rt.faults.profile.max_concurrent_jobs:
            rt.stats.fault("max_concurrent_jobs")
            raise ApiError(
                429, "Too Many Requests", details="Too many concurrent requests for this organization"
            )
    request_id: str = request.state.request_id
    job = Job(
        request_id=request_id,
        operation_id=request.state.operation_id,
        created_at=now,
        duration=0.0 if sync else duration,
        result=result,
        is_async=not sync,
        webhook_url=webhook_url,
    )
    rule = getattr(request.state, "job_error", None)
    if rule is not None:
        code = rule.code or 500
        job.error = {"code": code, "message": rule.message or reason(code), "details": "Injected job failure"}
        job.error_status = rule.job_status
    rt.store.jobs[request_id] = job
    extra = {"warning": warning} if warning else {}
    if sync:
        if job.error is not None:
            raise ApiError(job.error["code"], job.error["message"], details=job.error["details"])
        return JSONResponse({"result": result, "request_id": request_id, **extra}, status_code=200)
    status_url = f"{rt.base_url(request)}/v2/status/{request_id}"
    return JSONResponse({"request_id": request_id, "status_url": status_url, **extra}, status_code=202)
