"""``train_model``: model → start → wait; cancelling the run stops the remote training."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from bria_api.models import TailoredModel, TrainingMode
from bria_api.polling import PollSchedule
from flows.params import TrainingParams
from tasks.credentials import BriaCredentials
from tasks.lineage import record_model
from tasks.locks import resource_lock
from tasks.registry import TrainingRecord, drop_record, read_record, save_record
from tasks.run_training import forget_run_training, remember_run_training, stop_training_of_run
from tasks.training import ensure_model, start_training, stop_training, wait_for_training

# flow-run id -> (model id, credentials): what a cancellation hook must stop, in this process.
_ACTIVE_TRAININGS: dict[str, tuple[int, BriaCredentials | None]] = {}


async def stop_remote_training(flow: Any, flow_run: Any, state: Any) -> None:
    """On cancellation (UI/API), a crash (SIGTERM) or a flow timeout: stop the training this run started.

    Other failures (e.g. Bria reporting Failed) leave nothing running, so they stop nothing.
    """
    if state.is_failed() and state.name != "TimedOut":
        await forget_run_training(str(flow_run.id))
        return
    entry = _ACTIVE_TRAININGS.pop(str(flow_run.id), None)
    if entry is None:  # a UI/API cancel of a worker's run: Prefect runs this hook in the worker, not the run
        await stop_training_of_run(flow_run, state)
        return
    model_id, credentials = entry
    model = await stop_training.fn(model_id, credentials)
    await forget_run_training(str(flow_run.id))
    get_run_logger().warning(
        "run %s: stopped remote training of model %s (%s)", state.name, model_id, model.status
    )


async def register_owner(model: TailoredModel, run_id: str | None, expected_seconds: float) -> None:
    """Record this run as the owner of the training (kept across re-attaches: started_at is not reset)."""
    previous = await read_record(model.id)
    await save_record(
        TrainingRecord(
            model_id=model.id,
            model_name=model.name,
            flow_run_id=run_id,
            started_at=previous.started_at if previous else datetime.now(UTC),
            expected_seconds=expected_seconds,
            last_status=str(getattr(model.status, "value", model.status)),
        )
    )


def remember_training(flow_run_id: str | None, model_id: int, credentials: BriaCredentials | None) -> None:
    if flow_run_id:
        _ACTIVE_TRAININGS[flow_run_id] = (model_id, credentials)


def forget_training(flow_run_id: str | None) -> None:
    if flow_run_id:
        _ACTIVE_TRAININGS.pop(flow_run_id, None)


@flow(
    name="train-model",
    flow_run_name="train-{training.model_name}",
    on_cancellation=[stop_remote_training],
    on_crashed=[stop_remote_training],
    on_failure=[stop_remote_training],
)
async def train_model(
    project_id: int, dataset_id: int, training: TrainingParams, credentials: BriaCredentials | None = None
) -> TailoredModel:
    """Create or re-attach the model, start its training once, and wait for it (polling mode).

    Args:
        project_id: Bria project id.
        dataset_id: A completed Bria dataset id.
        training: Model name, mode, expert recipe and how to wait.
        credentials: A BriaCredentials block; defaults to the environment.
    """
    from prefect import runtime

    run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    # One model and one training per key even when an identical run starts at the same time (tasks/locks.py).
    async with resource_lock("model", project_id, dataset_id, training.model_name):
        model = await ensure_model(
            project_id, dataset_id, training.model_name, TrainingMode(training.training_mode), credentials
        )
        remember_training(run_id, model.id, credentials)  # before the start: a signal may land mid-request
        await remember_run_training(run_id, model.id)  # for a hook run by the worker (tasks/run_training.py)
        model = await start_training(model.id, training.expert, credentials)
        await register_owner(model, run_id, training.expected_hours * 3600)
    schedule = PollSchedule(initial=training.poll_initial_seconds, maximum=training.poll_max_seconds)
    model = await wait_for_training(
        model.id,
        schedule,
        max_wait_seconds=training.max_wait_hours * 3600,
        expected_seconds=training.expected_hours * 3600,
        credentials=credentials,
    )
    forget_training(run_id)
    await forget_run_training(run_id)
    await drop_record(model.id)
    await record_model(model)  # lineage: dataset -> model (-> checkpoint)
    get_run_logger().info("model %s trained (%s)", model.id, model.status)
    await acreate_markdown_artifact(
        f"## Model `{model.name}` (id {model.id})\n\nstatus **{model.status}**, mode {model.training_mode}, "
        f"version {model.active_model_version}\n",
        key=f"model-{model.id}",
        description="Training result",
    )
    return model
