"""Versus the usual script: ``prepare_dataset`` vs the sequential loop users write (raw ``requests``:
bria-client cannot reach the ``/v1`` dataset endpoints). Same 200 images, 250 ms per call. Goal: >= 8x.

The flow runs with its default upload concurrency and with the highest the form allows.
"""

from __future__ import annotations

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
from bench.dataset_prep import run_flow
from bench.scripts import usual_sequential_prepare
from flows.params import DatasetParams

FULL = {"images": 200, "latency_ms": 250.0, "rounds": 3}
QUICK = {"images": 6, "latency_ms": 20.0, "rounds": 1}
GOAL = 8.0
DEFAULT = DatasetParams.model_fields["upload_concurrency"].default
HIGHEST = next(m.le for m in DatasetParams.model_fields["upload_concurrency"].metadata if hasattr(m, "le"))
_names = itertools.count()


def run_sequential(emu: BenchEmulator, folder: Path) -> dict[str, Any]:
    emu.fresh()
    started = time.perf_counter()
    out = usual_sequential_prepare(emu.url, TOKEN, folder, f"usual {next(_names)}", "bench dataset")
    seconds = time.perf_counter() - started
    ds = emu.stats()["datasets"][str(out["dataset_id"])]
    return {"seconds": seconds, "requests": sum(request_counts(emu).values()), "uploaded": ds["images"]}


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    p = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(dir=workdir) as tmp, prefect_harness():
        folder = write_dataset(Path(tmp) / "brand", p["images"])
        with emulator(latency_ms=p["latency_ms"], time_scale=3600.0, process=True) as emu:
            run_flow(emu, folder, DEFAULT)  # warm-up: the first flow run of a process registers the flow
            samples = alternate(
                {
                    "usual script (sequential)": lambda: run_sequential(emu, folder),
                    f"flow, concurrency {DEFAULT}": lambda: run_flow(emu, folder, DEFAULT),
                    f"flow, concurrency {HIGHEST}": lambda: run_flow(emu, folder, HIGHEST),
                },
                rounds=p["rounds"],
                warmup=0,
            )
    seq = samples.median("usual script (sequential)")
    c4, c16 = samples.median(f"flow, concurrency {DEFAULT}"), samples.median(f"flow, concurrency {HIGHEST}")
    speedup4, speedup16 = seq / c4, seq / c16
    return Result(
        name="vs the usual script",
        goal=f"≥ {GOAL:g}× faster",
        figure=(
            f"sequential {seq:.1f} s; flow {c4:.1f} s at its default concurrency {DEFAULT} ({speedup4:.1f}×), "
            f"{c16:.1f} s at concurrency {HIGHEST} ({speedup16:.1f}×)"
        ),
        ratio=speedup4,
        status=verdict(speedup4 >= GOAL),
        details={
            "params": p,
            "medians": samples.summary(),
            f"speedup_concurrency_{HIGHEST}": round(speedup16, 2),
            "requests_per_run": {k: sorted({r["requests"] for r in v}) for k, v in samples.runs.items()},
            "uploaded": {k: [r["uploaded"] for r in v] for k, v in samples.runs.items()},
        },
        notes=[
            "usual script = one `requests` call after the other (create project, dataset, schema, 200 uploads, "
            "complete), as in Bria's cookbook; bria-client 0.3.1 prefixes every endpoint with /v2/, so it cannot "
            "reach the /v1 dataset API.",
            "The ratio column is the speed-up at the flow's default concurrency; the emulator has no rpm cap "
            "here (BRIA_REQUESTS_PER_MINUTE=100000), so neither side is paced. The emulator runs in its own "
            "process.",
        ],
    )
