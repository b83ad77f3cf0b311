"""Which training a flow run started, kept where a hook outside the run's process can read it.

When a run started by a worker is cancelled from the UI or the API, Prefect kills the run's process and then
runs its ``on_cancellation`` hooks in the *worker* (``prefect.runner``), where nothing the run kept in memory
exists. So a run writes the model id to a Prefect Variable (``bria-run-training-<flow run id>``) before it
starts the training, and removes it when it stops waiting; the hook reads it from wherever it runs.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.logging.loggers import flow_run_logger
from prefect.variables import Variable

from bria_api import reconcile
from bria_api.models import TailoredModel
from tasks._common import bria_client
from tasks.credentials import BriaCredentials
from tasks.training import emit_training_event

PREFIX = "bria-run-training-"


async def remember_run_training(flow_run_id: str | None, model_id: int) -> None:
    if flow_run_id:
        await Variable.aset(f"{PREFIX}{flow_run_id}", model_id, overwrite=True)


async def forget_run_training(flow_run_id: str | None) -> None:
    if flow_run_id:
        await Variable.aunset(f"{PREFIX}{flow_run_id}")


async def _credentials(value: Any) -> BriaCredentials | None:
    """The run's ``credentials`` parameter as the worker sees it: None, a block, or a block reference."""
    if isinstance(value, BriaCredentials):
        return value
    ref = value.get("$ref") if isinstance(value, dict) else None
    if isinstance(ref, dict) and ref.get("block_document_id"):
        async with get_client() as client:
            document = await client.read_block_document(UUID(str(ref["block_document_id"])))
        return await BriaCredentials.aload(document.name)
    return None


async def stop_training_of_run(flow_run: Any, state: Any) -> TailoredModel | None:
    """Stop the training ``flow_run`` recorded as its own, if it still runs; None when it recorded none."""
    model_id = await Variable.aget(f"{PREFIX}{flow_run.id}", default=None)
    if not isinstance(model_id, int):
        return None
    credentials = await _credentials((flow_run.parameters or {}).get("credentials"))
    async with bria_client(credentials) as bria:
        model = await reconcile.stop_if_training(bria, model_id)
    emit_training_event("stopped", model, reason=f"run {flow_run.id} {state.name}")
    await forget_run_training(str(flow_run.id))
    flow_run_logger(flow_run).warning(
        "run %s: stopped remote training of model %s (%s)", state.name, model_id, model.status
    )
    return model
