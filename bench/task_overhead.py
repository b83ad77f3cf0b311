"""Per-task overhead: Prefect's cost per uploaded image, one task per image vs one task per batch.

Four variants upload the same images (emulator latency 0, concurrency 4), alternately:
* ``task per image``: N ``upload_image`` tasks gathered in a flow (each opens a client and reconciles);
* ``batch task``: one ``upload_images`` task (what ``prepare_dataset`` uses);
* ``raw per image`` / ``raw batch``: the same client code (``reconcile.upload_missing``) without Prefect.
Prefect overhead per image = (task variant - its raw twin) / N; times are taken inside the flow body.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from prefect import flow
from pydantic import SecretStr

from bench._common import (
    TOKEN,
    BenchEmulator,
    Result,
    alternate,
    emulator,
    prefect_harness,
    request_counts,
)
from bench._images import write_dataset
from bria_api import BriaClient, BriaSettings
from bria_api.manifest import build_manifest
from bria_api.reconcile import upload_missing

FULL = {"images": 200, "concurrency": 4, "rounds": 3, "warmup": 1}
QUICK = {"images": 6, "concurrency": 4, "rounds": 1, "warmup": 0}


def _settings(url: str) -> BriaSettings:
    return BriaSettings(api_token=SecretStr(TOKEN), base_url=url, requests_per_minute=100_000)


async def _new_dataset(url: str) -> int:
    async with BriaClient(_settings(url)) as bria:
        project = await bria.projects.create("overhead", ip_medium="photography", ip_type="other")
        return (await bria.datasets.create(project.id, "overhead")).id


@flow(name="bench-upload-per-image")
async def per_image_flow(dataset_id: int, folder: str, concurrency: int) -> float:
    from tasks.datasets import upload_image

    manifest = build_manifest(Path(folder))
    gate = asyncio.Semaphore(concurrency)

    async def one(entry: Any) -> list[str]:
        async with gate:
            return await upload_image(dataset_id, entry)

    started = time.perf_counter()
    await asyncio.gather(*(one(e) for e in manifest))
    return time.perf_counter() - started


@flow(name="bench-upload-batch")
async def batch_flow(dataset_id: int, folder: str, concurrency: int) -> float:
    from tasks.datasets import upload_images

    manifest = build_manifest(Path(folder))
    started = time.perf_counter()
    await upload_images(dataset_id, manifest, len(manifest), concurrency=concurrency)
    return time.perf_counter() - started


async def _raw_per_image(url: str, dataset_id: int, folder: str, concurrency: int) -> float:
    manifest = build_manifest(Path(folder))
    gate = asyncio.Semaphore(concurrency)

    async def one(entry: Any) -> None:
        async with gate, BriaClient(_settings(url)) as bria:  # like the task: one client per image
            await upload_missing(bria, dataset_id, [entry])

    started = time.perf_counter()
    await asyncio.gather(*(one(e) for e in manifest))
    return time.perf_counter() - started


async def _raw_batch(url: str, dataset_id: int, folder: str, concurrency: int) -> float:
    manifest = build_manifest(Path(folder))
    started = time.perf_counter()
    async with BriaClient(_settings(url)) as bria:
        await upload_missing(bria, dataset_id, manifest, concurrency=concurrency)
    return time.perf_counter() - started


def _variant(emu: BenchEmulator, folder: Path, concurrency: int, body: Any) -> Any:
    def run_once() -> dict[str, Any]:
        emu.fresh()
        dataset_id = asyncio.run(_new_dataset(emu.url))
        before = sum(request_counts(emu).values())
        seconds = asyncio.run(body(dataset_id, str(folder), concurrency))
        stats = emu.stats()
        ds = stats["datasets"][str(dataset_id)]
        return {
            "seconds": seconds,
            "requests": sum(request_counts(emu).values()) - before,
            "images": ds["images"],
            "duplicates": ds["duplicate_contents"],
        }

    return run_once


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    p = QUICK if quick else FULL
    n = p["images"]
    with tempfile.TemporaryDirectory(dir=workdir) as tmp, prefect_harness():
        folder = write_dataset(Path(tmp) / "brand", n)
        with emulator() as emu:
            url, c = emu.url, p["concurrency"]
            samples = alternate(
                {
                    "task per image": _variant(emu, folder, c, per_image_flow),
                    "raw per image": _variant(emu, folder, c, lambda d, f, k: _raw_per_image(url, d, f, k)),
                    "batch task": _variant(emu, folder, c, batch_flow),
                    "raw batch": _variant(emu, folder, c, lambda d, f, k: _raw_batch(url, d, f, k)),
                },
                rounds=p["rounds"],
                warmup=p["warmup"],
            )
    med = {name: samples.median(name) for name in samples.runs}
    per_image_ms = (med["task per image"] - med["raw per image"]) / n * 1000
    batch_ms = (med["batch task"] - med["raw batch"]) / n * 1000
    design_ms = (med["task per image"] - med["batch task"]) / n * 1000
    correct = {
        name: all(r["images"] == n and r["duplicates"] == 0 for r in runs)
        for name, runs in samples.runs.items()
    }
    requests = {name: sorted({r["requests"] for r in runs}) for name, runs in samples.runs.items()}
    faster = "batch task" if med["batch task"] <= med["task per image"] else "task per image"
    return Result(
        name="per-task overhead",
        goal="report it; pick the faster design if correctness is equal",
        figure=(
            f"Prefect overhead {per_image_ms:.1f} ms/image as one task per image, {batch_ms:.2f} ms/image as one "
            f"batch task; per-image design costs {design_ms:.1f} ms/image more in total "
            f"({requests['task per image'][0]} vs {requests['batch task'][0]} API calls for {n} images) → {faster}"
        ),
        ratio=med["task per image"] / med["batch task"],
        status="pass" if faster == "batch task" and all(correct.values()) else "report",
        details={"params": p, "medians": samples.summary(), "requests": requests, "correct": correct},
        notes=[
            f"{n} distinct 1024 px JPEGs, emulator latency 0, concurrency {p['concurrency']}; each variant on a "
            "fresh dataset; times taken inside the flow body (flow-run start excluded). The ratio column is "
            "task-per-image time / batch-task time. prepare_dataset already uses the batch task.",
        ],
    )
