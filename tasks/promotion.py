"""The ``promoted`` alias: the tailored model that scheduled generation uses, moved only by an approval.

The alias is the Prefect Variable ``bria-promoted-model`` (a JSON object: model id, checkpoint, when, which
gallery run, who said why, the golden prompts' version, the model it replaced). ``generate_images`` takes
``model_id="promoted"`` and resolves it when its run starts, so a nightly schedule follows the alias; the
alias moves only when a person approves a golden-prompt gallery (``flows/gallery.py``), so a new model never
replaces the old one unseen. Each move is also a Prefect event, ``bria.model.promoted``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from prefect import get_run_logger, runtime
from prefect.events import emit_event
from prefect.variables import Variable
from pydantic import BaseModel

PROMOTED: Literal["promoted"] = "promoted"
VARIABLE = "bria-promoted-model"


class Promotion(BaseModel):
    """What the alias points at, and how it got there."""

    model_id: int
    checkpoint_step: str | None = None
    promoted_at: datetime
    flow_run_id: str | None = None
    reason: str = ""
    prompts_version: str | None = None
    previous_model_id: int | None = None

    model_config = {"protected_namespaces": ()}


class NoPromotedModel(LookupError):
    """``model_id="promoted"`` was asked for before any model was promoted."""


async def read_promoted() -> Promotion | None:
    value = await Variable.aget(VARIABLE, default=None)
    return Promotion.model_validate(value) if value else None


async def resolve_model_id(model_id: int | str) -> int:
    """A model id, or the id the ``promoted`` alias points at now."""
    if model_id != PROMOTED:
        return int(model_id)
    promoted = await read_promoted()
    if promoted is None:
        raise NoPromotedModel(
            f'model_id "promoted": no model has been promoted yet (Prefect Variable {VARIABLE} is unset); '
            "run the golden-gallery flow for a trained model and approve it"
        )
    get_run_logger().info("model_id promoted -> %s (since %s)", promoted.model_id, promoted.promoted_at)
    return promoted.model_id


async def promote(
    model_id: int, checkpoint_step: str | None, reason: str, prompts_version: str | None
) -> Promotion:
    """Move the alias to ``model_id`` (an approved gallery's last step)."""
    before = await read_promoted()
    run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    after = Promotion(
        model_id=model_id,
        checkpoint_step=checkpoint_step,
        promoted_at=datetime.now(UTC),
        flow_run_id=run_id,
        reason=reason,
        prompts_version=prompts_version,
        previous_model_id=before.model_id if before else None,
    )
    await Variable.aset(VARIABLE, after.model_dump(mode="json"), overwrite=True)
    emit_event(
        "bria.model.promoted",
        resource={"prefect.resource.id": f"bria.model.{model_id}", "bria.model-id": str(model_id)},
        payload=after.model_dump(mode="json"),
    )
    return after
