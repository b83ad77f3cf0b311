"""What every task shares: opening a client, which failures a Prefect retry may repeat, and tags."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bria_api import Applied, BriaClient, BriaError
from tasks.credentials import BriaCredentials, resolve_settings
from tasks.rate_budget import governor_for_settings

TAGS = ["bria"]


@contextlib.asynccontextmanager
async def bria_client(credentials: BriaCredentials | None) -> AsyncIterator[BriaClient]:
    """A client whose requests draw on the token's budget shared by every run (``tasks/rate_budget.py``)."""
    settings = resolve_settings(credentials)
    async with BriaClient(settings, governor=governor_for_settings(settings)) as client:
        yield client


async def _exception(state: Any) -> BaseException | None:
    try:
        await state.aresult()
    except BaseException as exc:  # noqa: BLE001 - we only classify it
        return exc
    return None


async def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition for tasks that reconcile before acting: transient failures only, never 4xx."""
    exc = await _exception(state)
    return isinstance(exc, BriaError) and exc.transient


async def retry_not_applied(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition for tasks that spend credits: only failures that provably changed nothing remotely."""
    exc = await _exception(state)
    return isinstance(exc, BriaError) and exc.transient and exc.applied is Applied.NO
