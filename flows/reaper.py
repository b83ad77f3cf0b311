"""``reap_orphans``: stop trainings nobody is waiting for any more (scheduled hourly).

A training is an orphan when the flow run that owns it ended without finishing it (Cancelled, Crashed, Failed,
deleted, or killed outright: still "Running" but silent, with no heartbeat for the grace period), or when no
run owns it any more although bria-flows started it (a ``bria.model.training.started`` event exists).
Trainings bria-flows never started (the Console's, another tool's) are left alone unless
``include_unregistered``. A grace period protects trainings that were just started; ``dry_run`` only reports.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.exceptions import ObjectNotFound

from bria_api import reconcile
from bria_api.models import ModelStatus
from tasks._common import bria_client
from tasks.credentials import BriaCredentials
from tasks.registry import drop_record, read_records
from tasks.training import emit_training_event

_DEAD_STATES = {"CANCELLED", "CRASHED", "FAILED", "MISSING", "SILENT"}


async def _owner_state(flow_run_id: str | None, grace: timedelta) -> str | None:
    """State type of the owning run; ``MISSING`` when it no longer exists, ``SILENT`` when it claims to run
    but has sent no heartbeat for ``grace`` (killed with SIGKILL, machine lost), None when there is none."""
    if not flow_run_id:
        return None
    async with get_client() as client:
        try:
            run = await client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            return "MISSING"
        state = run.state.type.value if run.state else None
        if state == "RUNNING" and run.state and run.state.timestamp < datetime.now(UTC) - grace:
            since = datetime.now(UTC) - grace
            beats = await client.read_events(
                EventFilter(
                    event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                    resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                    occurred=EventOccurredFilter(since=since),
                ),
                limit=1,
            )
            if not beats.events:
                return "SILENT"
    return state


async def _started_by_us(model_id: int, model_name: str | None) -> bool:
    """A ``bria.model.training.started`` event of ours names this model (id and name: ids alone may be reused)."""
    async with get_client() as client:
        page = await client.read_events(
            EventFilter(
                event=EventNameFilter(name=["bria.model.training.started"]),
                resource=EventResourceFilter(id=[f"bria.model.{model_id}"]),
                occurred=EventOccurredFilter(since=datetime.now(UTC) - timedelta(days=7)),
            ),
            limit=10,
        )
    return any(e.resource.get("prefect.resource.name") == (model_name or str(model_id)) for e in page.events)


@flow(name="orphan-reaper", flow_run_name="reap-orphans")
async def reap_orphans(
    grace_minutes: float = 30.0,
    dry_run: bool = False,
    include_unregistered: bool = False,
    credentials: BriaCredentials | None = None,
) -> list[dict]:
    """Stop orphaned trainings and report what was (or would be) done.

    Args:
        grace_minutes: Leave trainings younger than this alone.
        dry_run: Only report; stop nothing.
        include_unregistered: Also stop in-progress trainings bria-flows never started (the Console's and other
            tools' too!).
        credentials: A BriaCredentials block; defaults to the environment.
    """
    logger = get_run_logger()
    now = datetime.now(UTC)
    rows: list[dict] = []
    records = {r.model_id: r for r in await read_records()}
    async with bria_client(credentials) as bria:
        models = await bria.models.list()
        for model in models:
            if model.known_status not in (ModelStatus.IN_PROGRESS, ModelStatus.CREATED):
                continue
            record = records.get(model.id)
            if record is None:
                if model.known_status is not ModelStatus.IN_PROGRESS:
                    continue
                ours = await _started_by_us(model.id, model.name)
                if not ours and not include_unregistered:
                    continue
                started = model.updated_at if isinstance(model.updated_at, datetime) else None
                age_min = (
                    (now - started.replace(tzinfo=started.tzinfo or UTC)).total_seconds() / 60
                    if started
                    else None
                )
                reason = (
                    "started by bria-flows, no owning run"
                    if ours
                    else "no owning run (not started by bria-flows)"
                )
            else:
                owner = await _owner_state(record.flow_run_id, timedelta(minutes=grace_minutes))
                if owner not in _DEAD_STATES:
                    continue
                age_min = record.elapsed(now) / 60
                reason = f"owner run {record.flow_run_id} is {owner}"
            if age_min is not None and age_min < grace_minutes:
                rows.append(
                    {"model": model.id, "reason": reason, "action": f"kept (grace, {age_min:.0f} min old)"}
                )
                continue
            if dry_run:
                rows.append({"model": model.id, "reason": reason, "action": "would stop (dry run)"})
                continue
            stopped = await reconcile.stop_if_training(bria, model.id)
            emit_training_event("stopped", stopped, reason=reason)
            await drop_record(model.id)
            logger.warning("stopped orphaned training of model %s: %s", model.id, reason)
            rows.append({"model": model.id, "reason": reason, "action": f"stopped ({stopped.status})"})
    await acreate_table_artifact(
        rows or [{"model": "-", "reason": "no orphans", "action": "none"}],
        key="orphan-reaper",
        description="Reaper pass",
    )
    return rows
