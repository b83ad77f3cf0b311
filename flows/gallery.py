"""``golden_gallery``: the golden prompts rendered by a candidate model next to the promoted one; an approval
moves the ``promoted`` alias (``tasks/promotion.py``), a rejection leaves it where it was.

Steps: check the prompts file (``flows/golden.py``) → read the candidate (its training must have completed)
and the alias → render every golden prompt with both models (same prompt, seed and aspect ratio; renders are
files named from their request, so the promoted model's come back from earlier galleries without being paid
again) → publish the side-by-side artifact ``golden-gallery-<model id>`` (thumbnails embedded, so it outlives
Bria's three-day image URLs) and ``gallery-<model id>.md`` next to the images → wait for a decision in the
Prefect UI (Resume: approve or reject, with a reason) → move the alias, or not.

Waiting: ``pause`` keeps the process (CLI, tests, the lifecycle's subflow); ``suspend`` (deployments) lets it
exit, and the resumed run renders nothing new (the files are there) and gets the recorded answer back.

Expert models: Bria generates with the model's active checkpoint (its API has no way to choose another), so
the gallery renders that checkpoint, says which, and lists the others.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Annotated, Literal

from PIL import Image
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input import RunInput
from pydantic import BaseModel, Field

from bria_api.models import ModelStatus, TailoredImageRequest
from flows.approval import PAUSE_POLL_SECONDS
from flows.golden import DEFAULT_GOLDEN_PROMPTS, GoldenPrompts, load_golden
from tasks.credentials import BriaCredentials
from tasks.generation import GeneratedFile, generate_tailored_image
from tasks.lineage import Lineage, lineage_of, record_images
from tasks.promotion import Promotion, promote, read_promoted
from tasks.training import list_checkpoints, read_model

THUMBNAIL_PX = 200  # two columns of these fit the artifact page beside the prompts


class PromotionDecision(RunInput):
    """Promote the candidate? Scheduled generation (model_id "promoted") uses it from then on."""

    approve: bool = Field(default=False, description="Promote the candidate model")
    reason: str = Field(default="", max_length=2000, description="Why (kept with the alias)")


class GalleryRow(BaseModel):
    prompt_id: str
    seed: int
    aspect_ratio: str
    candidate: Path
    promoted: Path | None = None


class GalleryResult(BaseModel):
    model_id: int
    checkpoint_step: str | None = None
    promoted_before: int | None = None
    decision: Literal["approved", "rejected", "already promoted"]
    reason: str = ""
    rows: list[GalleryRow]

    model_config = {"protected_namespaces": ()}


def _requests(model_id: int, golden: GoldenPrompts, influence: float) -> list[TailoredImageRequest]:
    return [
        TailoredImageRequest(
            tailored_model_id=str(model_id),
            prompt=p.prompt,
            seed=p.seed,
            aspect_ratio=p.aspect_ratio,
            negative_prompt=p.negative_prompt,
            tailored_model_influence=influence,
        )
        for p in golden.prompts
    ]


async def _render(
    requests: list[TailoredImageRequest],
    golden: GoldenPrompts,
    folder: Path,
    lineage: Lineage,
    credentials: BriaCredentials | None,
) -> list[GeneratedFile]:
    gate = asyncio.Semaphore(4)

    async def one(prompt_id: str, request: TailoredImageRequest) -> GeneratedFile:
        async with gate:
            return await generate_tailored_image(
                request, folder, f"golden-{prompt_id}", credentials=credentials, lineage=lineage
            )

    files = await asyncio.gather(*(one(p.id, r) for p, r in zip(golden.prompts, requests, strict=True)))
    await record_images(lineage, [f.request_id for f in files if f.request_id and not f.reused])
    return list(files)


def _thumbnail(path: Path) -> str:
    """A small JPEG as a data URI: the artifact shows it without reaching Bria's expiring URLs."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _cell(path: Path | None, *, embed: bool, base: Path) -> str:
    if path is None:
        return "—"
    return f"![{path.name}]({_thumbnail(path) if embed else path.relative_to(base).as_posix()})"


def gallery_markdown(
    golden: GoldenPrompts,
    rows: list[GalleryRow],
    candidate: str,
    promoted: str | None,
    note: str,
    *,
    embed: bool,
    base: Path,
) -> str:
    header = f"| golden prompt | promoted: {promoted or 'none yet'} | candidate: {candidate} |"
    lines = [
        f"| **{p.id}**<br>{p.prompt}<br>seed {row.seed}, {row.aspect_ratio} "
        f"| {_cell(row.promoted, embed=embed, base=base)} | {_cell(row.candidate, embed=embed, base=base)} |"
        for p, row in zip(golden.prompts, rows, strict=True)
    ]
    return (
        f"## Golden gallery: {candidate} vs {promoted or 'no promoted model'}\n\n"
        f"Golden prompts version `{golden.version}` ({len(rows)} prompts): the same prompt, seed and aspect "
        f"ratio in both columns. {note}\n\n{header}\n|---|---|---|\n" + "\n".join(lines) + "\n"
    )


def _label(model_id: int, step: str | None) -> str:
    return f"model {model_id}" + (f" (checkpoint {step})" if step else "")


async def _decide(
    model_id: int, golden: GoldenPrompts, description: str, wait_mode: str, timeout_seconds: int
) -> PromotionDecision:
    form = PromotionDecision.with_initial_data(description=description, approve=False)
    key = f"promote-{model_id}-{golden.version}".replace(".", "-")
    if wait_mode == "suspend":
        return await asuspend_flow_run(wait_for_input=form, timeout=timeout_seconds, key=key)
    return await apause_flow_run(
        wait_for_input=form, timeout=timeout_seconds, poll_interval=PAUSE_POLL_SECONDS, key=key
    )


@flow(name="golden-gallery", flow_run_name="gallery-{model_id}")
async def golden_gallery(
    model_id: int,
    prompts_file: Path = DEFAULT_GOLDEN_PROMPTS,
    out_dir: Path = Path("bria-output/gallery"),
    model_influence: Annotated[float, Field(ge=0.0, le=1.5)] = 1.0,
    wait_mode: Literal["pause", "suspend"] = "pause",
    approval_timeout_hours: Annotated[float, Field(gt=0, le=168)] = 24.0,
    credentials: BriaCredentials | None = None,
) -> GalleryResult:
    """Render the golden prompts with a candidate model and the promoted one, side by side; approve to promote.

    Args:
        model_id: The candidate: a tailored model whose training completed.
        prompts_file: The golden prompts (JSON: version, prompts with id, prompt, seed, aspect_ratio).
        out_dir: Where the renders (one folder per model) and gallery-<model id>.md are written.
        model_influence: Tailored model influence (0-1.5), the same for both models.
        wait_mode: pause (keeps the process while waiting) or suspend (releases it; needs a deployment).
        approval_timeout_hours: How long to wait for a decision before the run fails (the alias stays).
        credentials: A BriaCredentials block; defaults to the environment.
    """
    logger = get_run_logger()
    golden = load_golden(prompts_file)  # every problem named before anything is spent
    candidate_requests = _requests(model_id, golden, model_influence)
    model = await read_model(model_id, credentials)
    if model.known_status is not ModelStatus.COMPLETED:
        raise ValueError(f"model {model_id} is {model.status}: only a completed model can be promoted")
    step = model.active_model_version if model.active_model_version not in (None, "default") else None
    checkpoints = (await list_checkpoints(model_id, credentials)).checkpoints if step else []
    promoted: Promotion | None = await read_promoted()
    out = Path(out_dir)
    lineage = await lineage_of(model_id, credentials)
    files = await _render(candidate_requests, golden, out / f"model-{model_id}", lineage, credentials)
    old: list[GeneratedFile | None] = [None] * len(files)
    if promoted is not None and promoted.model_id != model_id:
        old_lineage = await lineage_of(promoted.model_id, credentials)
        old_requests = _requests(promoted.model_id, golden, model_influence)
        old = await _render(
            old_requests, golden, out / f"model-{promoted.model_id}", old_lineage, credentials
        )
    rows = [
        GalleryRow(
            prompt_id=p.id,
            seed=p.seed,
            aspect_ratio=p.aspect_ratio,
            candidate=f.path,
            promoted=o.path if o else None,
        )
        for p, f, o in zip(golden.prompts, files, old, strict=True)
    ]
    others = [str(c.checkpoint_step) for c in checkpoints if str(c.checkpoint_step) != step]
    note = (
        f"Bria renders the active checkpoint {step}; its API cannot select the others ({', '.join(others)})."
        if others
        else ""
    )
    candidate_label = _label(model_id, step)
    promoted_label = _label(promoted.model_id, promoted.checkpoint_step) if promoted else None
    markdown = gallery_markdown(golden, rows, candidate_label, promoted_label, note, embed=True, base=out)
    await acreate_markdown_artifact(
        markdown, key=f"golden-gallery-{model_id}", description=f"{candidate_label} vs {promoted_label}"
    )
    local = out / f"gallery-{model_id}.md"
    local.write_text(
        gallery_markdown(golden, rows, candidate_label, promoted_label, note, embed=False, base=out)
    )
    logger.info(
        "gallery of %s vs %s: artifact golden-gallery-%s, %s",
        candidate_label,
        promoted_label,
        model_id,
        local,
    )
    result = dict(model_id=model_id, checkpoint_step=step, rows=rows)
    if promoted is not None and promoted.model_id == model_id:
        return GalleryResult(**result, promoted_before=model_id, decision="already promoted")
    logger.info("waiting for a decision in the Prefect UI: Resume, then approve or reject with a reason")
    decision = await _decide(
        model_id,
        golden,
        f"## Promote {candidate_label}?\n\nIt would replace {promoted_label or 'nothing (no model promoted yet)'} "
        f"for scheduled generation. Compare them in the artifact `golden-gallery-{model_id}` of this run.",
        wait_mode,
        int(approval_timeout_hours * 3600),
    )
    before = promoted.model_id if promoted else None
    if decision.approve:
        await promote(model_id, step, decision.reason, golden.version)
        logger.info(
            "promoted %s (was %s): %s", candidate_label, promoted_label, decision.reason or "no reason"
        )
    else:
        emit_event(
            "bria.model.promotion.rejected",
            resource={"prefect.resource.id": f"bria.model.{model_id}", "bria.model-id": str(model_id)},
            payload={"reason": decision.reason, "promoted": before},
        )
        logger.info(
            "%s not promoted; the alias stays on %s: %s", candidate_label, promoted_label, decision.reason
        )
    verdict: Literal["approved", "rejected"] = "approved" if decision.approve else "rejected"
    return GalleryResult(**result, promoted_before=before, decision=verdict, reason=decision.reason)
