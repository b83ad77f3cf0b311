"""Dataset prep overhead: ``prepare_dataset`` vs a raw asyncio + httpx script making the same calls.

Both sides upload the same 200 JPEGs (1024 px) at the same concurrency to an emulator answering every
call after 250 ms, alternately, in one process. Goal: flow / raw <= 1.10.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    TOKEN,
    BenchEmulator,
    Result,
    alternate,
    emulator,
    prefect_harness,
    request_counts,
    verdict,
)
from bench._images import write_dataset
from bench.scripts import raw_async_prepare

FULL = {"images": 200, "latency_ms": 250.0, "concurrency": 16, "rounds": 3, "warmup": 1}  # the flow's default
QUICK = {"images": 6, "latency_ms": 20.0, "concurrency": 4, "rounds": 1, "warmup": 0}
_names = itertools.count()


def run_flow(emu: BenchEmulator, folder: Path, concurrency: int) -> dict[str, Any]:
    """One ``prepare_dataset`` run on a fresh emulator; timed around the flow call."""
    from flows.dataset import prepare_dataset
    from flows.params import DatasetParams, ProjectParams

    emu.fresh()
    project = ProjectParams(project_name=f"bench project {next(_names)}")
    dataset = DatasetParams(
        name="bench dataset", images_dir=folder, upload_concurrency=concurrency, caption_poll_seconds=0.5
    )
    started = time.perf_counter()
    result = asyncio.run(prepare_dataset(project, dataset))
    seconds = time.perf_counter() - started
    counts = request_counts(emu)
    return {
        "seconds": seconds,
        "requests": sum(counts.values()),
        "uploaded": result.uploaded,
        "images_in_dataset": result.images_in_dataset,
    }


def run_raw(emu: BenchEmulator, folder: Path, concurrency: int) -> dict[str, Any]:
    emu.fresh()
    name = f"bench project {next(_names)}"
    started = time.perf_counter()
    out = asyncio.run(
        raw_async_prepare(emu.url, TOKEN, folder, name, "bench dataset", concurrency=concurrency)
    )
    seconds = time.perf_counter() - started
    ds = emu.stats()["datasets"][str(out["dataset_id"])]
    return {"seconds": seconds, "requests": sum(request_counts(emu).values()), "uploaded": ds["images"]}


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    p = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(dir=workdir) as tmp, prefect_harness():
        folder = write_dataset(Path(tmp) / "brand", p["images"])
        with emulator(latency_ms=p["latency_ms"], time_scale=3600.0, process=True) as emu:
            samples = alternate(
                {
                    "flow": lambda: run_flow(emu, folder, p["concurrency"]),
                    "raw": lambda: run_raw(emu, folder, p["concurrency"]),
                },
                rounds=p["rounds"],
                warmup=p["warmup"],
            )
    ratio = samples.ratio("flow", "raw")
    flow_req = {r["requests"] for r in samples.runs["flow"]}
    raw_req = {r["requests"] for r in samples.runs["raw"]}
    overhead = samples.median("flow") - samples.median("raw")
    return Result(
        name="dataset prep overhead",
        goal="flow / raw ≤ 1.10",
        figure=(
            f"flow {samples.median('flow'):.2f} s vs raw {samples.median('raw'):.2f} s "
            f"(+{overhead:.2f} s per run, {overhead / p['images'] * 1000:.1f} ms per image)"
        ),
        ratio=ratio,
        status=verdict(ratio <= 1.10),
        details={
            "params": p,
            "medians": samples.summary(),
            "requests_per_run": {"flow": sorted(flow_req), "raw": sorted(raw_req)},
            "uploaded": {k: [r["uploaded"] for r in v] for k, v in samples.runs.items()},
        },
        notes=[
            f"{p['images']} distinct {1024} px JPEGs (~250 KB), emulator latency {p['latency_ms']:g} ms on every "
            f"call, upload concurrency {p['concurrency']} (the flow's default) on both sides.",
            "raw = asyncio + httpx sending the same requests in the same order with the same bodies "
            "(bench/scripts.py), without the flow's local lint and Pillow checks.",
            "The emulator runs in its own process (as Bria is remote: its decoding does not take the client's "
            "GIL), time x3600 so the server-side caption job never makes either side wait.",
        ],
    )
