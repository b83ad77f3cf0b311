"""Rich progress bars for the CLI, fed by the tasks' ``bria_flows.progress`` log records."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from tasks._progress import PROGRESS_LOGGER


class _ProgressHandler(logging.Handler):
    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress
        self.bars: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        info = getattr(record, "bria_progress", None)
        if not info:
            return
        bar = self.bars.get(info["key"])
        if bar is None:
            bar = self.bars[info["key"]] = self.progress.add_task(info["description"], total=info["total"])
        self.progress.update(
            bar, completed=info["completed"], total=info["total"], description=info["description"]
        )


@contextlib.contextmanager
def progress_bars() -> Iterator[Progress]:
    """Show a bar per upload batch, training and generation batch while the block runs."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
    handler = _ProgressHandler(progress)
    PROGRESS_LOGGER.addHandler(handler)
    PROGRESS_LOGGER.setLevel(logging.DEBUG)
    PROGRESS_LOGGER.propagate = False
    try:
        with progress:
            yield progress
    finally:
        PROGRESS_LOGGER.removeHandler(handler)
