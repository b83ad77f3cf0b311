"""Caption review: after captions are (re)generated, pause for a person to edit them, then complete.

The form in the Prefect UI lists every image (id, name, caption); edited captions are checked (Bria wants a
JSON object in a string) and saved through the caption-update endpoint (a PUT: applying them twice is
harmless), and only then is the dataset completed. Every problem in the edits is reported, naming the image,
before the first caption is written. The pause key is per dataset, so a resumed run gets the same answer back
instead of asking again.
"""

from __future__ import annotations

import json

from prefect import get_run_logger
from prefect.artifacts import acreate_table_artifact
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput
from pydantic import BaseModel, Field

from bria_api import BriaValidationError
from flows.approval import PAUSE_POLL_SECONDS
from tasks.credentials import BriaCredentials
from tasks.datasets import list_images, update_caption


class CaptionEdit(BaseModel):
    """One image and its caption (edit the caption; keep the id)."""

    image_id: int
    image_name: str | None = None
    caption: str = Field(description="A JSON object, as Bria writes captions")


class CaptionReview(RunInput):
    """Edit the captions you want to change, then resume: changed captions are saved, then the dataset is
    completed."""

    captions: list[CaptionEdit]


def changed_captions(original: dict[int, str], answer: CaptionReview) -> list[CaptionEdit]:
    """The edits that differ from Bria's captions, each checked; every bad edit named in one error."""
    problems: list[str] = []
    edits: list[CaptionEdit] = []
    for edit in answer.captions:
        name = edit.image_name or f"image {edit.image_id}"
        if edit.image_id not in original:
            problems.append(f"{name}: image {edit.image_id} is not in this dataset")
            continue
        if edit.caption == original[edit.image_id]:
            continue
        try:
            parsed = json.loads(edit.caption)
        except ValueError as exc:
            problems.append(f"{name}: caption is not valid JSON ({exc.msg} at char {exc.pos})")
            continue
        if not isinstance(parsed, dict):
            problems.append(f"{name}: caption must be a JSON object")
            continue
        edits.append(edit)
    if problems:
        raise BriaValidationError("caption review: " + "; ".join(problems), field="captions")
    return edits


async def ask_caption_review(
    dataset_id: int, timeout_seconds: int, credentials: BriaCredentials | None = None
) -> list[CaptionEdit]:
    """Pause for the caption form; save what was changed. Returns the saved edits."""
    logger = get_run_logger()
    images = await list_images(dataset_id, credentials)
    original = {img.id: img.caption or "{}" for img in images}  # as shown in the form
    form = CaptionReview.with_initial_data(
        description=f"## Captions of dataset {dataset_id}\n\n{len(images)} images. Edit any caption (a JSON "
        "object), then resume; the dataset is completed afterwards.",
        captions=[
            CaptionEdit(image_id=i.id, image_name=i.image_name, caption=i.caption or "{}") for i in images
        ],
    )
    logger.info("waiting for the caption review of dataset %s in the Prefect UI", dataset_id)
    answer = await apause_flow_run(
        wait_for_input=form,
        timeout=timeout_seconds,
        poll_interval=PAUSE_POLL_SECONDS,
        key=f"review-captions-{dataset_id}",
    )
    edits = changed_captions(original, answer)
    for edit in edits:
        await update_caption(dataset_id, edit.image_id, edit.caption, credentials)
    logger.info("caption review of dataset %s: %d captions edited", dataset_id, len(edits))
    await acreate_table_artifact(
        [{"image": e.image_name or str(e.image_id), "caption": e.caption[:300]} for e in edits]
        or [{"image": "-", "caption": "no caption changed"}],
        key="caption-review",
        description=f"Dataset {dataset_id}: {len(edits)} captions edited in review",
    )
    return edits
