"""The billing ledger: every billable call a run makes, as one table artifact (``billing-ledger``) on its root run.

A row is appended right after Bria accepted the call (the request id is known, the credit is spent): kind
(operation), request id, model, the flow run that made it, and its estimated price from ``PriceTable``; a
submit whose answer was lost is recorded too, with a note (Bria may have charged it). The
artifact belongs to the root flow run, so a lifecycle's ledger also lists what its subflows paid for; it is
updated in place (one artifact, not one version per row) and read back after a resume in a new process.

Recording never fails the caller: the credit is already spent, and a failed task would be retried and pay
again. A ledger write that fails is logged as a warning instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from uuid import UUID

from prefect import runtime
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.context import FlowRunContext
from prefect.logging import get_logger

from bria_api.pricing import PRICE_FIELD_OF, PriceTable

LEDGER_KEY = "billing-ledger"
COLUMNS = ("time", "kind", "request id", "model", "flow run", "estimate", "note")


class _Ledger:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.artifact_id: UUID | None = None
        self.rows: list[dict[str, str]] = []


_ROOTS: dict[str, str] = {}  # flow run id -> root flow run id
_LEDGERS: dict[tuple[str, int], _Ledger] = {}  # (root run id, event loop) -> ledger


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run
        return get_logger("bria.ledger")


async def _root_run_id(client: PrefectClient, run_id: str) -> str:
    """The top of the run tree: subflows' calls land in the ledger of the run that started them."""
    if run_id not in _ROOTS:
        current = await client.read_flow_run(UUID(run_id))
        while current.parent_task_run_id is not None:
            parent_task = await client.read_task_run(current.parent_task_run_id)
            if parent_task.flow_run_id is None:
                break
            current = await client.read_flow_run(parent_task.flow_run_id)
        _ROOTS[run_id] = str(current.id)
    return _ROOTS[run_id]


async def _load(client: PrefectClient, root: str, ledger: _Ledger) -> None:
    """Re-attach to the root run's ledger artifact (a resumed run restarts in a new process)."""
    found = await client.read_artifacts(
        artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[LEDGER_KEY]), flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(root)])
        ),
        limit=1,
    )
    if found:
        ledger.artifact_id = found[0].id
        data = found[0].data
        ledger.rows = list(json.loads(data) if isinstance(data, str) else data or [])


async def record_billable(
    operation: str,
    request_id: str | None = None,
    model: str | int | None = None,
    prices: PriceTable | None = None,
    note: str = "",
) -> dict[str, str]:
    """Append one billable call to the run's ledger (outside a run: log only). Returns the row.

    ``note`` flags a row, e.g. a submit whose answer was lost (it may or may not have been charged).
    """
    prices = prices or PriceTable()
    row = {
        "time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "kind": operation,
        "request id": request_id or "-",
        "model": "-" if model is None else str(model),
        "flow run": runtime.flow_run.name or "-",
        "estimate": prices.money(prices.price(operation)) if operation in PRICE_FIELD_OF else "unknown",
        "note": note,
    }
    logger = _logger()
    logger.info(
        "billable: %s (request %s, estimate %s) %s", operation, row["request id"], row["estimate"], note
    )
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return row
    try:
        async with get_client() as client:
            root = await _root_run_id(client, str(context.flow_run.id))
            ledger = _LEDGERS.setdefault((root, id(asyncio.get_running_loop())), _Ledger())
            async with ledger.lock:  # concurrent submits in one batch: one writer at a time, no lost row
                if ledger.artifact_id is None:
                    await _load(client, root, ledger)
                ledger.rows.append(row)
                data = json.dumps(ledger.rows)
                if ledger.artifact_id is None:
                    created = await client.create_artifact(
                        ArtifactCreate(
                            key=LEDGER_KEY,
                            type="table",
                            data=data,
                            description="Billable calls of this run (estimates from BRIA_PRICE_*)",
                            flow_run_id=UUID(root),
                        )
                    )
                    ledger.artifact_id = created.id
                else:
                    await client.update_artifact(ledger.artifact_id, ArtifactUpdate(data=data))
    except Exception as exc:  # noqa: BLE001 - never fail (and so retry, and pay again) over bookkeeping
        logger.warning("billing ledger not updated for %s %s: %s", operation, row["request id"], exc)
    return row


async def read_ledger(flow_run_id: str | UUID) -> list[dict[str, str]]:
    """The ledger rows of a (root) flow run, as stored on the Prefect server."""
    ledger = _Ledger()
    async with get_client() as client:
        await _load(client, str(flow_run_id), ledger)
    return ledger.rows
