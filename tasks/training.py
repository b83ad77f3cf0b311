"""Tasks for models and training: find-or-create, start once, stop, wait observably, checkpoints."""

from __future__ import annotations

import asyncio
import random
import time

from prefect import get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from bria_api import AuthenticationError, BriaError, PermissionDeniedError, reconcile
from bria_api.models import CheckpointList, TailoredModel, TrainingMode, TrainingParameters
from bria_api.polling import (
    PollSchedule,
    TrainingProgress,
    TrainingUnreachable,
    TrainingWaitTimeout,
    raise_for_terminal,
)
from tasks._common import TAGS, bria_client
from tasks._progress import report
from tasks.credentials import BriaCredentials
from tasks.datasets import SAFE
from tasks.ledger import record_billable


def emit_training_event(
    kind: str, model: TailoredModel, owner_flow_run_id: str | None = None, **payload: object
) -> None:
    """``bria.model.training.<kind>`` about ``bria.model.<id>``.

    Inside a run Prefect relates that run; ``owner_flow_run_id`` (from the watcher) names the run waiting for
    this training, listed first so an automation's ResumeFlowRun resumes that one.
    """
    related = (
        [
            {
                "prefect.resource.id": f"prefect.flow-run.{owner_flow_run_id}",
                "prefect.resource.role": "flow-run",
            }
        ]
        if owner_flow_run_id
        else None
    )
    emit_event(
        related=related,
        event=f"bria.model.training.{kind}",
        resource={
            "prefect.resource.id": f"bria.model.{model.id}",
            "prefect.resource.name": model.name or str(model.id),
            "bria.model-id": str(model.id),
        },
        payload={
            "model_id": model.id,
            "status": str(getattr(model.status, "value", model.status)),
            **payload,
        },
    )


@task(name="ensure-model", task_run_name="ensure-model-{name}", timeout_seconds=600, **SAFE)
async def ensure_model(
    project_id: int,
    dataset_id: int,
    name: str,
    training_mode: TrainingMode = TrainingMode.FULLY_AUTOMATED,
    credentials: BriaCredentials | None = None,
) -> TailoredModel:
    """Find the model by name on this dataset, or create it."""
    async with bria_client(credentials) as bria:
        model, created = await reconcile.ensure_model(
            bria, project_id, dataset_id, name, training_mode=training_mode
        )
    get_run_logger().info(
        "%s model %s (%r, %s)", "created" if created else "re-attached", model.id, name, model.status
    )
    return model


@task(name="find-model", task_run_name="find-model-{name}", timeout_seconds=300, **SAFE)
async def find_model(
    project_id: int, dataset_id: int, name: str, credentials: BriaCredentials | None = None
) -> TailoredModel | None:
    """The model by name on this dataset, or None (never creates one)."""
    async with bria_client(credentials) as bria:
        return await reconcile.find_model(bria, project_id, dataset_id, name)


@task(name="start-training", task_run_name="start-training-{model_id}", timeout_seconds=600, **SAFE)
async def start_training(
    model_id: int, parameters: TrainingParameters | None = None, credentials: BriaCredentials | None = None
) -> TailoredModel:
    """Start training once: InProgress re-attaches, Completed skips, a 409 counts as started."""
    async with bria_client(credentials) as bria:
        model, action = await reconcile.ensure_training(bria, model_id, parameters)
    get_run_logger().info("training of model %s: %s", model_id, action)
    if action == "started":
        emit_training_event("started", model)
        await record_billable("start-training", None, model=model_id)
    return model


@task(name="stop-training", task_run_name="stop-training-{model_id}", timeout_seconds=300, **SAFE)
async def stop_training(model_id: int, credentials: BriaCredentials | None = None) -> TailoredModel:
    """Stop a training for good (no-op unless it is running)."""
    async with bria_client(credentials) as bria:
        model = await reconcile.stop_if_training(bria, model_id)
    get_run_logger().warning("stop requested for model %s: now %s", model_id, model.status)
    emit_training_event("stopped", model)
    return model


@task(name="wait-for-training", task_run_name="wait-training-{model_id}", tags=TAGS, cache_policy=NO_CACHE)
async def wait_for_training(
    model_id: int,
    schedule: PollSchedule | None = None,
    max_wait_seconds: float = 8 * 3600,
    expected_seconds: float = 5 * 3600,
    outage_tolerance_seconds: float = 1800,
    credentials: BriaCredentials | None = None,
) -> TailoredModel:
    """Poll until the training ends: log and emit an event on each change, keep a progress artifact.

    Completed returns the model; Failed and Stopped raise; past ``max_wait_seconds`` it gives up with the
    model id in the message so a later run re-attaches.
    """
    logger = get_run_logger()
    progress = TrainingProgress(model_id, expected_seconds=expected_seconds)
    intervals = (schedule or PollSchedule()).intervals(random.Random(model_id))
    artifact_id = await acreate_progress_artifact(
        0.0, key=f"training-{model_id}", description=f"model {model_id}"
    )
    stall_reported, last_ok = False, time.monotonic()
    timeline: list[dict[str, str]] = []
    async with bria_client(credentials) as bria:
        while True:
            try:
                model = await bria.models.get(model_id)
                last_ok = time.monotonic()
            except BriaError as exc:
                if isinstance(exc, AuthenticationError | PermissionDeniedError):
                    logger.error(
                        "model %s: Bria refused the token while waiting; the training goes on at Bria's side: "
                        "re-run with a valid token to re-attach to it",
                        model_id,
                    )
                if not exc.transient:
                    raise
                if (unreachable := time.monotonic() - last_ok) > outage_tolerance_seconds:
                    raise TrainingUnreachable(model_id, unreachable, exc) from exc
                logger.warning("model %s: Bria unreachable (%s); still waiting", model_id, exc)
                await asyncio.sleep(next(intervals))
                continue
            if progress.observe(model):
                logger.info(progress.describe())
                if model.known_status is None:  # a status this client does not know is never a success
                    logger.warning(
                        "model %s reports unknown status %r; still waiting", model_id, progress.status
                    )
                timeline.append(
                    {
                        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "status": progress.status or "?",
                        "note": progress.describe(),
                    }
                )
                if progress.changes > 1 and model.known_status is not None and model.known_status.is_terminal:
                    emit_training_event(model.known_status.value.lower(), model, elapsed=progress.elapsed)
            await aupdate_progress_artifact(
                artifact_id, progress.fraction * 100, description=progress.describe()
            )
            report(
                f"training-{model_id}",
                f"training model {model_id}: {progress.status}",
                progress.fraction * 100,
                100,
            )
            if model.known_status is not None and model.known_status.is_terminal:
                await acreate_table_artifact(
                    timeline, key=f"training-timeline-{model_id}", description=f"Training of model {model_id}"
                )
            if raise_for_terminal(model):
                if progress.changes == 1:  # first look already Completed: still say so once
                    emit_training_event("completed", model, elapsed=progress.elapsed)
                return model
            if progress.stalled and not stall_reported:
                stall_reported = True
                logger.warning("model %s looks stalled: %s", model_id, progress.describe())
                emit_training_event("stalled", model, elapsed=progress.elapsed)
                await acreate_markdown_artifact(
                    f"## Model {model_id} looks stalled\n\n{progress.describe()}: past 1.5x the expected "
                    f"{expected_seconds / 3600:.1f} h. Still waiting (up to {max_wait_seconds / 3600:.1f} h); "
                    "the training is not stopped.\n",
                    key=f"training-stalled-{model_id}",
                    description=f"Stall alarm for model {model_id}",
                )
            if progress.elapsed > max_wait_seconds:
                raise TrainingWaitTimeout(model_id, progress.elapsed, progress.status or "?")
            await asyncio.sleep(next(intervals))


@task(name="list-checkpoints", task_run_name="checkpoints-{model_id}", timeout_seconds=300, **SAFE)
async def list_checkpoints(model_id: int, credentials: BriaCredentials | None = None) -> CheckpointList:
    """Checkpoints of an expert-mode model (after it completed)."""
    async with bria_client(credentials) as bria:
        return await bria.models.list_checkpoints(model_id)


@task(name="read-model", task_run_name="read-model-{model_id}", timeout_seconds=300, **SAFE)
async def read_model(model_id: int, credentials: BriaCredentials | None = None) -> TailoredModel:
    """The model as Bria sees it now (never cached)."""
    async with bria_client(credentials) as bria:
        return await bria.models.get(model_id)
