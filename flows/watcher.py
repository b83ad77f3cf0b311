"""``watch_trainings``: one pass over every training a run is waiting for (scheduled every few minutes).

For each registered training it reads the model once, updates the owner's progress artifact, logs only on
change, and emits ``bria.model.training.completed|failed|stopped|stalled`` related to the owning flow run, so
an automation can resume a suspended lifecycle run. Deploy it with a concurrency limit of 1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact, aupdate_progress_artifact

from bria_api import BriaError
from tasks._common import bria_client
from tasks.credentials import BriaCredentials
from tasks.registry import drop_record, read_records, save_record
from tasks.training import emit_training_event


@flow(name="training-watcher", flow_run_name="watch-trainings")
async def watch_trainings(
    stall_factor: float = 1.5, credentials: BriaCredentials | None = None
) -> list[dict]:
    """Check every registered training once.

    Args:
        stall_factor: A training still in progress after this many times its expected duration is reported stalled.
        credentials: A BriaCredentials block; defaults to the environment.
    """
    logger = get_run_logger()
    rows: list[dict] = []
    records = await read_records()
    async with bria_client(credentials) as bria:
        for record in records:
            try:
                model = await bria.models.get(record.model_id)
            except BriaError as exc:
                logger.warning("model %s: %s (checked again next pass)", record.model_id, exc)
                rows.append({"model": record.model_id, "status": "unreachable", "action": "retry next pass"})
                continue
            status = str(getattr(model.status, "value", model.status))
            elapsed = record.elapsed(datetime.now(UTC))
            fraction = 1.0 if status == "Completed" else min(0.99, elapsed / record.expected_seconds)
            eta_min = max(0.0, record.expected_seconds - elapsed) / 60
            note = f"{status}, {elapsed / 60:.0f} min elapsed" + (
                f", ETA {eta_min:.0f} min" if status == "InProgress" else ""
            )
            if record.progress_artifact_id:
                await aupdate_progress_artifact(record.progress_artifact_id, fraction * 100, description=note)
            action = "waiting"
            if status != record.last_status:
                logger.info("model %s: %s -> %s", record.model_id, record.last_status, status)
                record.last_status = status
            if model.known_status is not None and model.known_status.is_terminal:
                emit_training_event(
                    status.lower(), model, owner_flow_run_id=record.flow_run_id, elapsed=elapsed
                )
                await drop_record(record.model_id)
                action = f"emitted bria.model.training.{status.lower()}"
            else:
                if (
                    status == "InProgress"
                    and elapsed > stall_factor * record.expected_seconds
                    and not record.stall_reported
                ):
                    record.stall_reported = True
                    emit_training_event(
                        "stalled", model, owner_flow_run_id=record.flow_run_id, elapsed=elapsed
                    )
                    logger.warning("model %s looks stalled: %s", record.model_id, note)
                    action = "emitted bria.model.training.stalled"
                await save_record(record)
            rows.append(
                {
                    "model": record.model_id,
                    "status": status,
                    "progress": f"{fraction:.0%}",
                    "note": note,
                    "action": action,
                }
            )
    await acreate_table_artifact(
        rows or [{"model": "-", "status": "no trainings registered"}],
        key="training-watcher",
        description="Watcher pass",
    )
    return rows
