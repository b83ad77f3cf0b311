"""The main job: the whole tailored lifecycle (prepare → train → generate) on a synthetic brand dataset.

Runs against an embedded emulator on a free loopback port, with a compressed training clock, unless the
user configured real Bria (``BRIA_API_TOKEN``, or ``BRIA_BASE_URL``); then the same flows drive Bria.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console


@contextlib.contextmanager
def _target(token: str | None) -> Iterator[tuple[str, bool]]:
    """Point the environment at real Bria or at an embedded emulator (stopped on exit)."""
    if token:
        os.environ["BRIA_API_TOKEN"] = token  # this process only; never a flow parameter
    if os.environ.get("BRIA_API_TOKEN") or os.environ.get("BRIA_BASE_URL"):
        yield os.environ.get("BRIA_BASE_URL", "https://engine.prod.bria-api.com"), False
        return
    from bria_emulator.config import EmulatorConfig  # only the demo and tests import the emulator
    from bria_emulator.server import EmulatorServer

    with EmulatorServer(EmulatorConfig(time_scale=3600.0)) as emu:  # 5 h of training in about 5 s
        # The emulator has no plan limit: lift the client's default 60 requests per minute.
        local = {"BRIA_API_TOKEN": emu.token, "BRIA_BASE_URL": emu.url, "BRIA_REQUESTS_PER_MINUTE": "6000"}
        os.environ.update(local)
        try:
            yield f"embedded emulator at {emu.url}", True
        finally:
            for key in local:
                os.environ.pop(key, None)


def run_demo(*, out: Path, images_dir: Path | None, token: str | None) -> int:
    console = Console(stderr=True)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # offline machines: no telemetry noise
    from bria_api import BriaError
    from deployments.sample_data import synthesize_dataset
    from flows.lifecycle import tailored_lifecycle
    from flows.params import DatasetParams, ProjectParams, TrainingParams

    if images_dir is None:
        images_dir = out / "sample-dataset"
        synthesize_dataset(images_dir)
    with _target(token) as (where, emulated):
        console.print(f"[bold]bria-flows demo[/]: tailored lifecycle against {where}")
        fast = {"poll_initial_seconds": 0.5, "poll_max_seconds": 1.0} if emulated else {}
        try:
            result = asyncio.run(
                tailored_lifecycle(
                    project=ProjectParams(
                        project_name="bria-flows demo", ip_medium="photography", ip_type="other"
                    ),
                    dataset=DatasetParams(
                        name="demo mugs v1",
                        images_dir=images_dir,
                        caption_poll_seconds=0.5 if emulated else 10.0,
                    ),
                    training=TrainingParams(model_name="demo mugs", **fast),
                    out_dir=out,
                )
            )
        except BriaError as exc:
            console.print(f"[red]failed:[/] {exc}")
            return 1
    console.print(
        f"project {result.project_id}, dataset {result.dataset_id}, model {result.model_id}: "
        f"{len(result.images)} images with JSON sidecars"
    )
    for path in result.images:
        console.print(f"  {path}")
    print(Path(out).resolve())
    return 0
