"""Upload memory: peak RSS of the upload step with 200 x ~4 MB images vs 20 such images. Goal: <= 1.2.

The step is ``reconcile.upload_missing`` (the body of the ``upload_images`` task: no image byte passes
through Prefect), run in a child process against an emulator in this one, so the emulator's store of
800 MB of images never counts. The child resets its high-water mark right before the step.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    TOKEN,
    Result,
    emulator,
    proc_status_kb,
    reset_peak_rss,
    run_child,
    verdict,
)
from bench._images import write_big_jpegs

FULL = {"small": 20, "big": 200, "megabytes": 4.0, "concurrency": 16, "repeats": 2}  # the default
QUICK = {"small": 2, "big": 6, "megabytes": 1.0, "concurrency": 4, "repeats": 1}


def child_upload(
    base_url: str,
    token: str,
    folder: str,
    concurrency: int,
    trace: bool = False,
    mmap_threshold: int | None = None,
    collect_each: bool = False,
) -> dict[str, Any]:
    """In the child: create a dataset, build the manifest, then measure the upload step alone.

    Investigation knobs: ``trace`` adds tracemalloc's peak (Python objects only, allocator excluded);
    ``mmap_threshold`` pins glibc's mmap threshold (mallopt), which otherwise rises after the first big
    free so later multi-MB buffers come from the heap, where fragmentation can keep RSS up;
    ``collect_each`` runs ``gc.collect()`` after every upload (frees what only reference cycles hold).
    """
    import gc
    import tracemalloc

    from pydantic import SecretStr

    if mmap_threshold is not None:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, mmap_threshold)  # M_MMAP_THRESHOLD

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
            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            collect = (lambda _entry: gc.collect()) if collect_each else None
            summary = await upload_missing(
                bria, dataset.id, manifest, concurrency=concurrency, on_uploaded=collect
            )
            seconds = time.perf_counter() - started
            traced = tracemalloc.get_traced_memory()[1] // 1024 if trace else None
            return {
                "traced_peak_kib": traced,
                "images": len(manifest),
                "bytes": sum(e.size_bytes for e in manifest),
                "uploaded": len(summary.uploaded),
                "seconds": seconds,
                "rss_before_kib": before,
                "peak_kib": proc_status_kb("VmHWM") if exact else None,
            }

    return asyncio.run(main())


def _measure(url: str, folder: Path, concurrency: int, **knobs: Any) -> dict[str, Any]:
    out = run_child(
        "bench.upload_memory:child_upload",
        {"base_url": url, "token": TOKEN, "folder": str(folder), "concurrency": concurrency, **knobs},
    )
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
                    print(
                        f"    {key:5} {out['images']:4d} images: peak {out['peak_kib'] / 1024:7.1f} MiB, "
                        f"step +{out['step_kib'] / 1024:6.1f} MiB, {out['seconds']:.1f} s",
                        flush=True,
                    )
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


def investigate(small: int = 20, big: int = 200, megabytes: float = 4.0) -> None:
    """``python -m bench.upload_memory``: the same measurement plain, with tracemalloc, and with the mmap
    threshold pinned at 1 MiB, to tell objects held by the code from allocator fragmentation."""
    only = sys.argv[1:]  # optional variant names
    variants: dict[str, dict[str, Any]] = {
        "plain": {},
        "tracemalloc": {"trace": True},
        "mmap threshold 1 MiB": {"mmap_threshold": 1 << 20},
        "gc.collect() after each upload": {"collect_each": True},
        "gc.collect() + tracemalloc": {"collect_each": True, "trace": True},
    }
    with tempfile.TemporaryDirectory() as tmp, emulator() as emu:
        folders = {
            "small": write_big_jpegs(Path(tmp) / "small", small, megabytes=megabytes),
            "big": write_big_jpegs(Path(tmp) / "big", big, megabytes=megabytes),
        }
        for name, knobs in variants.items():
            if only and name not in only:
                continue
            peaks = {}
            for key, folder in folders.items():
                emu.fresh()
                out = _measure(emu.url, folder, 4, **knobs)
                peaks[key] = out
                traced = out["traced_peak_kib"]
                print(
                    f"{name:22} {key:5}: peak {out['peak_kib'] / 1024:6.0f} MiB, step +{out['step_kib'] / 1024:5.0f}"
                    + (f", traced peak {traced / 1024:5.0f} MiB" if traced else ""),
                    flush=True,
                )
            print(f"{name:22} ratio {peaks['big']['peak_kib'] / peaks['small']['peak_kib']:.3f}", flush=True)


if __name__ == "__main__":
    investigate()
