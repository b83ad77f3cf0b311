"""Hold-free wait: worker-seconds held during a 6 h emulated training in deployment (event) mode.

Pending: the event-mode deployment (suspend on ``bria.model.training.started``, resume on
``completed``/``failed``) does not exist yet. Nothing is faked here: the row says so, and gives the figure
of the mode that does exist for contrast (polling holds one process for the whole training).
"""

from __future__ import annotations

from pathlib import Path

from bench._common import Result

TRAINING_HOURS = 6.0


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    polling_hold = TRAINING_HOURS * 3600
    return Result(
        name="hold-free wait",
        goal="≈ 0 worker-seconds (report the figure)",
        figure=(
            "pending: needs the event-mode deployment (suspend/resume). For contrast, polling mode holds one "
            f"worker for the whole training: {polling_hold:,.0f} worker-s for {TRAINING_HOURS:g} h"
        ),
        ratio=None,
        status="pending",
        details={"polling_mode_worker_seconds": polling_hold},
        notes=[
            "To measure once deployments exist: run the lifecycle deployment on a process worker, sum the time "
            "its flow-run processes are alive between `training.started` and the resume, with the emulator "
            "clock advanced by 6 h.",
        ],
    )
