"""Progress reports that a terminal can draw: plain log records on ``bria_flows.progress``.

Tasks call ``report``; the CLI attaches a handler that turns records into rich progress bars. In the
Prefect UI the same information lives in progress artifacts, so nothing here is required for a run.
"""

from __future__ import annotations

import logging

PROGRESS_LOGGER = logging.getLogger("bria_flows.progress")


def report(key: str, description: str, completed: float, total: float | None) -> None:
    """One progress step of ``key`` (e.g. ``upload-200001`` or ``training-400001``)."""
    PROGRESS_LOGGER.debug(
        "%s: %s (%s/%s)",
        key,
        description,
        completed,
        total,
        extra={
            "bria_progress": {"key": key, "description": description, "completed": completed, "total": total}
        },
    )
