"""``generate_images`` (tailored model) and ``generate_lite`` (FIBO Lite, on Bria or inference.sh): batches
saved with sidecars."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from pydantic import Field

from bria_api import BriaValidationError
from bria_api.images import to_api_image
from bria_api.inferencesh import InferenceShLite, check_for_inferencesh
from bria_api.lite import LiteParams
from bria_api.models import GenerateLiteRequest, TailoredImageRequest
from flows.budget import plan_batch, report_plan
from flows.params import AspectRatio, PromptSpec, load_prompts
from tasks._progress import report
from tasks.credentials import BriaCredentials, InferenceShCredentials, resolve_inference_settings
from tasks.generation import GeneratedFile, generate_lite_image, generate_tailored_image
from tasks.inferencesh import cancel_remote_tasks, generate_lite_inferencesh
from tasks.lineage import lineage_of, record_images
from tasks.locks import resource_lock
from tasks.promotion import PROMOTED, resolve_model_id


async def _bounded(coros: list, limit: int, key: str = "generate") -> list:
    """Run at most ``limit`` jobs at once in this event loop (one rate governor for all of them)."""
    gate = asyncio.Semaphore(limit)
    done = 0

    async def run(coro):
        nonlocal done
        async with gate:
            result = await coro
        done += 1
        report(key, "generating images", done, len(coros))
        return result

    return await asyncio.gather(*(run(c) for c in coros))


async def _gallery(title: str, files: list[GeneratedFile], key: str) -> None:
    rows = "\n".join(
        f"| [{f.path.name}]({f.path.resolve().as_uri()}) | {f.seed} | {f.request_id} | {'reused' if f.reused else 'new'} |"
        for f in files
    )
    await acreate_markdown_artifact(
        f"## {title}\n\n| image | seed | request id | |\n|---|---|---|---|\n{rows}\n",
        key=key,
        description=title,
    )


@flow(name="generate-images", flow_run_name="generate-{model_id}")
async def generate_images(
    model_id: int | Literal["promoted"],
    prompts: list[PromptSpec] | None = None,
    prompts_file: Path | None = None,
    out_dir: Path = Path("bria-output"),
    aspect_ratio: AspectRatio = "1:1",
    model_influence: Annotated[float, Field(ge=0.0, le=1.5)] = 1.0,
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4,
    credentials: BriaCredentials | None = None,
    budget: Annotated[float | None, Field(ge=0)] = None,
    max_images: Annotated[int | None, Field(ge=0)] = None,
) -> list[GeneratedFile]:
    """Generate a batch of images with a tailored model; each saved once, with a JSON sidecar.

    Args:
        model_id: The trained tailored model, or "promoted": the model the promoted alias points at when
            the run starts (moved by an approved golden gallery).
        prompts: Prompts with optional seeds and aspect ratios.
        prompts_file: A file of prompts (JSON list, JSON lines, or one prompt per line).
        out_dir: Output folder.
        aspect_ratio: Default aspect ratio.
        model_influence: Tailored model influence (0-1.5).
        concurrency: Jobs in flight at once.
        credentials: A BriaCredentials block; defaults to the environment.
        budget: Most estimated spend of this run's new submits (BRIA_PRICE_TAILORED_IMAGE must be set);
            images beyond it are skipped before submitting, and reported.
        max_images: Most new images submitted by this run (already saved ones are free and always kept).
    """
    specs = load_prompts(prompts, prompts_file)
    if model_id == PROMOTED:  # resolved once, at run start: the whole batch uses one model
        model_id = await resolve_model_id(model_id)
    requests = [
        TailoredImageRequest(
            tailored_model_id=str(model_id),
            prompt=s.prompt,
            seed=s.seed,
            aspect_ratio=s.aspect_ratio or aspect_ratio,
            negative_prompt=s.negative_prompt,
            tailored_model_influence=model_influence,
        )
        for s in specs
    ]  # all validated before the first job is submitted
    out = Path(out_dir)
    # An identical batch started at the same time waits, then finds the images saved (tasks/locks.py).
    async with resource_lock("generation", model_id, out.resolve()):
        stems = [f"{model_id}-{i:03d}" for i in range(len(requests))]
        # the cap is applied before the first submit: the batch stops before exceeding it, not after
        plan = plan_batch(
            requests, stems, out, "image-generate-tailored", budget=budget, max_images=max_images
        )
        await report_plan(plan, [r.prompt for r in requests], budget, max_images)
        lineage = await lineage_of(model_id, credentials)  # ids for the sidecars and the asset events
        files = await _bounded(
            [
                generate_tailored_image(requests[i], out, stems[i], credentials=credentials, lineage=lineage)
                for i in plan.run
            ],
            concurrency,
        )
        await record_images(lineage, [f.request_id for f in files if f.request_id and not f.reused])
    await _gallery(f"Model {model_id}: {len(files)} images", files, key=f"gallery-model-{model_id}")
    get_run_logger().info("%d images in %s", len(files), out.resolve())
    return files


Backend = Literal["bria", "inferencesh"]


@flow(
    name="generate-lite",
    flow_run_name="lite-{backend}-{num_images}",
    on_cancellation=[cancel_remote_tasks],
    on_crashed=[cancel_remote_tasks],
    on_failure=[cancel_remote_tasks],
)
async def generate_lite(
    prompt: str,
    reference_images: list[str] | None = None,
    num_images: Annotated[int, Field(ge=1, le=16)] = 1,
    aspect_ratio: AspectRatio = "1:1",
    guidance_scale: Annotated[float | None, Field(ge=3, le=5)] = None,
    steps: Annotated[int | None, Field(ge=1, le=50)] = None,
    seed: Annotated[int | None, Field(ge=0, le=2_147_483_647)] = None,
    output_format: Literal["png", "jpeg"] = "png",
    out_dir: Path = Path("bria-output"),
    backend: Backend = "bria",
    credentials: BriaCredentials | None = None,
    inferencesh_credentials: InferenceShCredentials | None = None,
) -> list[GeneratedFile]:
    """FIBO Lite text-to-image: Bria's native /v2/image/generate/lite, or inference.sh's bria/generate-lite.

    Args:
        prompt: What to generate.
        reference_images: Optional reference images: local paths or URLs (Bria takes one).
        num_images: Number of images (one request each; seeds follow from seed).
        aspect_ratio: Aspect ratio.
        guidance_scale: How closely to follow the prompt (3-5); the backend's default when empty.
        steps: Diffusion iterations (1-50; Bria's endpoint takes 8-30); the backend's default when empty.
        seed: Seed of the first image (0-2147483647); random when empty.
        output_format: png or jpeg.
        out_dir: Output folder.
        backend: bria (native endpoint, BRIA_API_TOKEN) or inferencesh (INFERENCE_API_KEY, the inferencesh extra).
        credentials: A BriaCredentials block for the bria backend; defaults to the environment.
        inferencesh_credentials: An InferenceShCredentials block for the inferencesh backend; defaults to the environment.
    """
    params = LiteParams(
        prompt=prompt,
        reference_images=tuple(reference_images or ()),
        num_images=num_images,
        aspect_ratio=aspect_ratio,
        guidance_scale=guidance_scale,
        steps=steps,
        seed=seed,
        output_format=output_format,
    )
    out = Path(out_dir)
    if backend == "inferencesh":  # every check before the first task starts (and is paid for)
        params = check_for_inferencesh(params)
        InferenceShLite(resolve_inference_settings(inferencesh_credentials))  # key and SDK present
        jobs = [
            generate_lite_inferencesh(p, out, f"lite-{i:02d}", credentials=inferencesh_credentials)
            for i, p in enumerate(params.per_image())
        ]
    else:
        jobs = [
            generate_lite_image(r, out, f"lite-{i:02d}", credentials=credentials)
            for i, r in enumerate(_native_lite_requests(params))
        ]
    # An identical batch started at the same time waits, then finds the images saved (tasks/locks.py).
    async with resource_lock("generation", "lite", out.resolve()):
        files = await _bounded(jobs, 4)
    await _gallery(f"FIBO Lite ({backend}): {len(files)} images", files, key="gallery-lite")
    return files


def _native_lite_requests(params: LiteParams) -> list[GenerateLiteRequest]:
    if len(params.reference_images) > 1:
        raise BriaValidationError(
            "reference_images: Bria's Lite endpoint takes one reference image (inference.sh's app takes several)",
            field="reference_images",
        )
    images = [to_api_image(r, field="reference_images[0]") for r in params.reference_images] or None
    return [
        GenerateLiteRequest(
            prompt=p.prompt,
            images=images,
            aspect_ratio=p.aspect_ratio,
            seed=p.seed,
            output_type=p.output_format,
            steps_num=p.steps,
            guidance_scale=p.guidance_scale,
        )
        for p in params.per_image()
    ]
