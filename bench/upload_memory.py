"""Upload memory: peak RSS of the upload step with 200 x ~4 MB images vs 20 such images. Goal: <= 1.2.

The step is ``reconcile.upload_missing`` (the body of the ``upload_images`` task: no image byte passes
through Prefect), run in a child process against an emulator in this one, so the emulator's store of
800 MB of images never counts. The child resets its high-water mark right before the step.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import TOKEN, Result, emulator, proc_status_kb, reset_peak_rss, run_child, verdict
from bench._common import write_big_jpegs

FULL = {"small": 20, "big": 200, "megabytes": 4.0, "concurrency": 4, "repeats": 2}
QUICK = {"small": 2, "big": 6, "megabytes": 1.0, "concurrency": 4, "repeats": 1}


def child_upload(base_url: str, token: str, folder: str, concurrency: int) -> dict[str, Any]:
    """In the child: create a dataset, build the manifest, then measure the upload step alone."""
    from pydantic import SecretStr

    from bria_api import BriaClient, BriaSettings
    from bria_api.manifest import build_manifest
    from bria_api.reconcile import upload_missing

    async def main() -> dict[str, Any]:
        settings = BriaSettings(api_token=SecretStr(token), base_url=base_url, requests_per_minute=100_000)
        async with BriaClient(settings) as bria:
            project = await bria.projects.create("memory", ip_medium="photography", ip_type="other")
            dataset = await bria.datasets.create(project.id, "memory")
            manifest = build_manifest(Path(folder))
            before = proc_status_kb("VmRSS")
            exact = reset_peak_rss()
            started = time.perf_counter()
            summary = await upload_missing(bria, dataset.id, manifest, concurrency=concurrency)
            seconds = time.perf_counter() - started
            return {
                "images": len(manifest),
                "bytes": sum(e.size_bytes for e in manifest),
                "uploaded": len(summary.uploaded),
                "seconds": seconds,
                "rss_before_kib": before,
                "peak_kib": proc_status_kb("VmHWM") if exact else None,
            }

    return asyncio.run(main())


def _measure(url: str, folder: Path, concurrency: int) -> dict[str, Any]:
    out = run_child("bench.upload_memory:child_upload", {"base_url": url, "token": TOKEN, "folder": str(folder), "concurrency": concurrency})
    out["peak_kib"] = out["peak_kib"] or out["ru_maxrss_kib"]  # no clear_refs: whole-process peak
    out["step_kib"] = out["peak_kib"] - (out["rss_before_kib"] or 0)
    return out


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    p = QUICK if quick else FULL
    runs: dict[str, list[dict[str, Any]]] = {"small": [], "big": []}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        big = write_big_jpegs(Path(tmp) / "big", p["big"], megabytes=p["megabytes"])
        small = write_big_jpegs(Path(tmp) / "small", p["small"], megabytes=p["megabytes"])
        with emulator() as emu:
            for _ in range(p["repeats"]):  # alternate small, big (noisy machine)
                for key, folder in (("small", small), ("big", big)):
                    emu.fresh()
                    out = _measure(emu.url, folder, p["concurrency"])
                    print(f"    {key:5} {out['images']:4d} images: peak {out['peak_kib'] / 1024:7.1f} MiB, "
                          f"step +{out['step_kib'] / 1024:6.1f} MiB, {out['seconds']:.1f} s", flush=True)
                    runs[key].append(out)
    peak = {k: max(r["peak_kib"] for r in v) for k, v in runs.items()}
    step = {k: max(r["step_kib"] for r in v) for k, v in runs.items()}
    ratio = peak["big"] / peak["small"]
    mb = sum(r["bytes"] for r in runs["big"][:1]) / 1024**2
    return Result(
        name="upload memory",
        goal="peak RSS ratio ≤ 1.2",
        figure=(
            f"{p['big']} images ({mb:.0f} MiB): peak {peak['big'] / 1024:.0f} MiB; {p['small']} images: "
            f"{peak['small'] / 1024:.0f} MiB (step alone: +{step['big'] / 1024:.0f} vs +{step['small'] / 1024:.0f} MiB)"
        ),
        ratio=ratio,
        status=verdict(ratio <= 1.2),
        details={"params": p, "runs": runs, "step_ratio": round(step["big"] / max(1, step["small"]), 3)},
        notes=[
            f"~{p['megabytes']:g} MB noisy photo-like JPEGs, upload concurrency {p['concurrency']}; peak = "
            "VmHWM of the child process after resetting it (clear_refs) just before the step, so it includes "
            "the interpreter and client baseline; 'step alone' subtracts the RSS measured before the step.",
        ],
    )
