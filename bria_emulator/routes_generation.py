"""v2 generation (FIBO, Lite, structured prompt, tailored image/prompt/video) and the status service."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bria_emulator import content
from bria_emulator.errors import ApiError
from bria_emulator.generation import (
    check_inputs,
    check_webhook_url,
    image_result,
    ip_warning,
    result_structured_prompt,
    submit,
    tailored_model,
)
from bria_emulator.images import fake_mp4
from bria_emulator.inputs import InputRejected, load_image
from bria_emulator.runtime import get_runtime

router = APIRouter(prefix="/v2", tags=["Generation"])
AspectRatio = Literal["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9"]


def _seed() -> Any:
    return Field(None, ge=0, le=2_147_483_647)


VIDEO_FACTOR = 6.0  # a 5 s video takes ~6x an image


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")
    prompt: str | None = None
    structured_prompt: str | dict[str, Any] | None = None  # bria-mcp sends a dict: tolerated
    seed: int | None = _seed()
    sync: bool = False
    webhook_url: str | None = None
    prompt_content_moderation: bool = True


class StructuredPromptBody(_Common):
    images: list[str] | None = None
    ip_signal: bool = False
    visual_input_content_moderation: bool = True


class LiteBody(StructuredPromptBody):
    model_version: Literal["FIBO"] | None = None
    aspect_ratio: AspectRatio = "1:1"
    output_type: Literal["png", "jpeg"] = "png"
    visual_output_content_moderation: bool = True
    steps_num: int | None = Field(None, ge=1, le=50)  # not in the spec; Bria's ComfyUI Lite node sends 8-30
    guidance_scale: float | None = Field(None, ge=3, le=5)  # idem (3-5)


class FiboBody(LiteBody):
    negative_prompt: str | None = None
    steps_num: int | None = Field(None, ge=35, le=50)
    resolution: Literal["1MP", "4MP"] = "1MP"
    guidance_scale: float | None = None


class DiffBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    structured_prompt: str | dict[str, Any]
    user_adjusted_structured_prompt: str | dict[str, Any]
    seed: int | None = _seed()
    sync: bool = False
    webhook_url: str | None = None
    model_version: Literal["FIBO"] | None = None


class _Tailored(_Common):
    tailored_model_id: str | int | None = None
    model_id: str | int | None = None  # alias used by bria-skill and the old SDK


class TailoredImageBody(_Tailored):
    tailored_model_influence: float = Field(1.0, ge=0.0, le=1.5)
    negative_prompt: str | None = None
    guidance_scale: int = Field(5, ge=3, le=5)
    aspect_ratio: AspectRatio = "1:1"
    steps_num: int = Field(50, ge=20, le=50)
    output_type: Literal["png", "jpeg"] = "png"
    visual_output_content_moderation: bool = True


class VideoBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    tailored_model_id: str | int | None = None
    model_id: str | int | None = None
    image: str | None = None
    seed: int | None = _seed()
    webhook_url: str | None = None  # not in the tailored spec; the docs say any async request takes one


async def _generate_image(
    body: LiteBody, request: Request, family: str, resolution: str = "1MP"
) -> JSONResponse:
    rt = get_runtime(request)
    webhook = check_webhook_url(body.webhook_url)
    inputs = await check_inputs(
        rt,
        prompt=body.prompt,
        structured=body.structured_prompt,
        images=body.images,
        seed=body.seed,
        allow_images=True,
        structured_alone=True,
    )
    result = image_result(
        rt,
        request,
        inputs,
        family=family,
        aspect_ratio=body.aspect_ratio,
        output_type=body.output_type,
        resolution=resolution,
    )
    return submit(
        rt,
        request,
        result,
        sync=body.sync,
        duration=rt.config.generation_seconds,
        webhook_url=webhook,
        warning=ip_warning(body.prompt, body.ip_signal),
    )


@router.post("/image/generate", operation_id="image-generate")
async def image_generate(body: FiboBody, request: Request) -> JSONResponse:
    return await _generate_image(body, request, "fibo", body.resolution)


@router.post("/image/generate/lite", operation_id="image-generate-lite")
async def image_generate_lite(body: LiteBody, request: Request) -> JSONResponse:
    return await _generate_image(body, request, "fibo-lite")


async def _generate_structured(body: StructuredPromptBody, request: Request, family: str) -> JSONResponse:
    rt = get_runtime(request)
    webhook = check_webhook_url(body.webhook_url)
    inputs = await check_inputs(
        rt,
        prompt=body.prompt,
        structured=body.structured_prompt,
        images=body.images,
        seed=body.seed,
        allow_images=True,
        structured_alone=False,
    )
    result = {"structured_prompt": result_structured_prompt(inputs, family), "seed": inputs.seed}
    return submit(
        rt,
        request,
        result,
        sync=body.sync,
        duration=rt.config.generation_seconds / 2,
        webhook_url=webhook,
        warning=ip_warning(body.prompt, body.ip_signal),
    )


@router.post("/structured_prompt/generate", operation_id="structured-prompt-generate")
async def structured_prompt_generate(body: StructuredPromptBody, request: Request) -> JSONResponse:
    return await _generate_structured(body, request, "fibo")


@router.post("/structured_prompt/generate/lite", operation_id="structured-prompt-generate-lite")
async def structured_prompt_generate_lite(body: StructuredPromptBody, request: Request) -> JSONResponse:
    return await _generate_structured(body, request, "fibo-lite")


@router.post("/structured_prompt/generate_from_diff", operation_id="structured-prompt-generate-from-diff")
async def structured_prompt_generate_from_diff(body: DiffBody, request: Request) -> JSONResponse:
    rt = get_runtime(request)
    webhook = check_webhook_url(body.webhook_url)
    original = content.parse_structured_prompt(body.structured_prompt)
    adjusted = content.parse_structured_prompt(body.user_adjusted_structured_prompt)
    if original is None or adjusted is None:
        raise ApiError(400, "structured_prompt and user_adjusted_structured_prompt must be JSON objects")
    seed = rt.random_seed() if body.seed is None else body.seed
    result = {"structured_prompt": content.dumps(content.merge_diff(original, adjusted)), "seed": seed}
    return submit(
        rt, request, result, sync=body.sync, duration=rt.config.generation_seconds / 2, webhook_url=webhook
    )


@router.post("/image/generate/tailored", operation_id="image-generate-tailored")
async def image_generate_tailored(body: TailoredImageBody, request: Request) -> JSONResponse:
    rt = get_runtime(request)
    webhook = check_webhook_url(body.webhook_url)
    model = tailored_model(rt, body)
    inputs = await check_inputs(
        rt,
        prompt=body.prompt,
        structured=body.structured_prompt,
        images=None,
        seed=body.seed,
        allow_images=False,
        structured_alone=True,
    )
    result = image_result(
        rt,
        request,
        inputs,
        family=f"tailored:{model.id}:{model.active_model_version}",
        aspect_ratio=body.aspect_ratio,
        output_type=body.output_type,
    )
    # Wrapped `result` form (as every other v2 op and bria-client), not the tailored spec's flat 200.
    return submit(
        rt, request, result, sync=body.sync, duration=rt.config.generation_seconds, webhook_url=webhook
    )


@router.post("/structured_prompt/generate/tailored", operation_id="structured-prompt-generate-tailored")
async def structured_prompt_generate_tailored(body: _Tailored, request: Request) -> JSONResponse:
    rt = get_runtime(request)
    webhook = check_webhook_url(body.webhook_url)
    model = tailored_model(rt, body)
    inputs = await check_inputs(
        rt,
        prompt=body.prompt,
        structured=body.structured_prompt,
        images=None,
        seed=body.seed,
        allow_images=False,
        structured_alone=False,
    )
    result = {
        "structured_prompt": result_structured_prompt(inputs, f"tailored:{model.id}"),
        "seed": inputs.seed,
    }
    return submit(
        rt, request, result, sync=body.sync, duration=rt.config.generation_seconds / 2, webhook_url=webhook
    )


@router.post("/video/generate/tailored/image-to-video", operation_id="generate-video-from-tailored-image")
async def generate_video_from_tailored_image(body: VideoBody, request: Request) -> JSONResponse:
    rt = get_runtime(request)
    model = tailored_model(rt, body)
    if not body.image:
        raise ApiError(400, "image is required")
    try:
        _, decoded = await load_image(rt.files, body.image)
    except InputRejected as exc:
        raise ApiError(exc.status, exc.message) from None
    seed = rt.random_seed() if body.seed is None else body.seed
    key = f"video:{model.id}:{decoded.sha256}:{seed}"
    file_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    rt.files.put_lazy(lambda: fake_mp4(key), "video/mp4", file_id)
    result = {"video_url": rt.file_url(request, file_id), "seed": seed}
    webhook = check_webhook_url(body.webhook_url)
    # Always asynchronous, whatever `sync` says.
    return submit(
        rt,
        request,
        result,
        sync=False,
        duration=rt.config.generation_seconds * VIDEO_FACTOR,
        webhook_url=webhook,
    )


@router.get("/status/{request_id}", operation_id="get_status")
async def get_status(request_id: str, request: Request) -> JSONResponse:
    rt = get_runtime(request)
    job = rt.store.jobs.get(request_id)
    if job is None:
        return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
    return JSONResponse(job.body(rt.clock.now()), status_code=200)
