"""Cost estimate and approval before training.

Before ``start_training`` the lifecycle publishes the estimate (training + sample images, priced by
``BRIA_PRICE_*``; unknown prices say "unknown") with the dataset's lint summary, as the ``training-estimate``
artifact. With ``require_approval`` it then pauses for a typed form in the Prefect UI (approve, or reject with
a reason). A rejection ends the run **Cancelled** with the reason as its message: a person decided, nothing
failed, and no training was started.

Re-runs never ask twice for what was already decided or done: when the model's training already started (an
approved run that crashed afterwards), Bria's status answers and no form is shown; and a resumed run (same
flow run) passes the pause at once because its key has fired, getting the recorded answer back.
"""

from __future__ import annotations

import hashlib

from prefect import get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput
from pydantic import BaseModel, Field

from bria_api.models import ModelStatus
from bria_api.pricing import Estimate, PriceTable
from tasks.credentials import BriaCredentials
from tasks.training import find_model

PAUSE_POLL_SECONDS = 2  # how often a paused run asks the Prefect server whether it was resumed

# A training in these states was started (and paid for) already: approving again would change nothing.
_STARTED = (ModelStatus.IN_PROGRESS, ModelStatus.STOPPING, ModelStatus.COMPLETED)


class TrainingDecision(RunInput):
    """Start the training? It spends credits (see the estimate above)."""

    approve: bool = Field(default=False, description="Start the training")
    reason: str = Field(default="", max_length=2000, description="Why (kept in the run's artifacts)")


class DatasetFacts(BaseModel):
    """What the approver is shown about the dataset."""

    dataset_id: int
    dataset_name: str
    images: int
    lint_summary: str | None = None


def lifecycle_estimate(samples: int, *, training: bool = True, prices: PriceTable | None = None) -> Estimate:
    """One training (unless it already started) and ``samples`` tailored images."""
    counts = {"start-training": int(training), "image-generate-tailored": samples}
    return (prices or PriceTable()).estimate(counts)


def _pause_key(dataset_id: int, model_name: str) -> str:
    # keys are alphanumeric with dashes; the model name is free text, so it is hashed
    return f"approve-training-{dataset_id}-{hashlib.sha256(model_name.encode()).hexdigest()[:10]}"


def _markdown(facts: DatasetFacts, model_name: str, estimate: Estimate, note: str) -> str:
    rows = "\n".join(
        f"| {r['operation']} | {r['count']} | {r['unit price']} | {r['amount']} |" for r in estimate.as_rows()
    )
    return (
        f"## Train `{model_name}`?\n\n{note}\n\n"
        f"| dataset | images | lint |\n|---|---|---|\n"
        f"| {facts.dataset_name} ({facts.dataset_id}) | {facts.images} | {facts.lint_summary or '-'} |\n\n"
        f"| billable call | count | unit price | amount |\n|---|---|---|---|\n{rows}\n\n"
        f"**Estimate: {estimate.describe()}** (prices from `BRIA_PRICE_*`; 0 means unknown)\n"
    )


async def approve_training(
    project_id: int,
    facts: DatasetFacts,
    model_name: str,
    samples: int,
    *,
    require_approval: bool,
    timeout_seconds: int,
    credentials: BriaCredentials | None = None,
) -> TrainingDecision:
    """Publish the estimate; with ``require_approval``, wait for a person's decision in the Prefect UI.

    Raises:
        FlowPauseTimeout: nobody answered within ``timeout_seconds`` (the run then fails).
    """
    logger = get_run_logger()
    model = await find_model(project_id, facts.dataset_id, model_name, credentials)
    started = model is not None and model.known_status in _STARTED
    estimate = lifecycle_estimate(samples, training=not started)
    note = (
        f"Training of model {model.id} already started ({model.status}): nothing to approve."
        if started and model is not None
        else "Approval required: resume this run with a decision."
        if require_approval
        else "Approval not required (require_approval is off)."
    )
    markdown = _markdown(facts, model_name, estimate, note)
    await acreate_markdown_artifact(markdown, key="training-estimate", description=estimate.describe())
    logger.info(
        "estimate before training %r: %s; lint: %s", model_name, estimate.describe(), facts.lint_summary
    )
    if started or not require_approval:
        return TrainingDecision(approve=True, reason=note)
    logger.info("waiting for approval in the Prefect UI (Resume with approve / reject and a reason)")
    decision = await apause_flow_run(
        wait_for_input=TrainingDecision.with_initial_data(description=markdown, approve=False),
        timeout=timeout_seconds,
        poll_interval=PAUSE_POLL_SECONDS,
        key=_pause_key(facts.dataset_id, model_name),
    )
    verdict = "approved" if decision.approve else "rejected"
    logger.info("training of %r %s: %s", model_name, verdict, decision.reason or "no reason given")
    await acreate_markdown_artifact(
        f"## Training {verdict}\n\nmodel `{model_name}`, estimate {estimate.describe()}\n\n"
        f"reason: {decision.reason or '(none given)'}\n",
        key="training-decision",
        description=f"{verdict}: {decision.reason or 'no reason given'}",
    )
    return decision
