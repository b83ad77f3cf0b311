"""The main job until the lifecycle flows land: one FIBO Lite generation through our client, image saved.

Runs against an embedded emulator on a free loopback port unless the user configured real Bria
(``BRIA_API_TOKEN`` set and no ``BRIA_BASE_URL`` pointing elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from bria_api import BriaClient, BriaError, BriaSettings


@contextlib.contextmanager
def _target(token: str | None) -> Iterator[tuple[BriaSettings, str]]:
    """Settings for real Bria when configured, else for an embedded emulator (stopped on exit)."""
    if token or os.environ.get("BRIA_API_TOKEN") or os.environ.get("BRIA_BASE_URL"):
        settings = BriaSettings(api_token=SecretStr(token)) if token else BriaSettings()
        yield settings, settings.base_url
        return
    from bria_emulator.config import EmulatorConfig  # only the demo and tests import the emulator
    from bria_emulator.server import EmulatorServer

    with EmulatorServer(EmulatorConfig(time_scale=3600.0)) as emu:
        yield BriaSettings(api_token=SecretStr(emu.token), base_url=emu.url), f"embedded emulator at {emu.url}"


async def _generate(settings: BriaSettings, prompt: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    async with BriaClient(settings) as bria:
        job = await bria.generation.lite(prompt=prompt, aspect_ratio="16:9", seed=42, output_type="png")
        assert job.result is not None and job.result.image_url
        image_path = out / f"lite-{job.request_id}.png"
        await bria.download(job.result.image_url, image_path)
    sidecar = image_path.with_suffix(".json")
    sidecar.write_text(
        json.dumps(
            {
                "operation": "image-generate-lite",
                "prompt": prompt,
                "seed": job.result.seed,
                "request_id": job.request_id,
                "structured_prompt": job.result.structured_prompt,
            },
            indent=2,
        )
    )
    return [image_path, sidecar]


def run_demo(*, out: Path, prompt: str, token: str | None) -> int:
    console = Console(stderr=True)
    try:
        with _target(token) as (settings, where):
            console.print(f"[bold]bria-flows demo[/] against {where}")
            files = asyncio.run(_generate(settings, prompt, out))
    except BriaError as exc:
        console.print(f"[red]failed:[/] {exc}")
        return 1
    for path in files:
        console.print(f"wrote {path}")
    print(out.resolve())
    return 0
