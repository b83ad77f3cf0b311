"""Profile one ``prepare_dataset`` run (the dataset-prep benchmark's setup) with pyinstrument.

    .venv/bin/pip install pyinstrument            # investigation only: not a project dependency
    .venv/bin/python -m bench.profile_dataset [--images 200] [--latency-ms 250] [--out /tmp/prep.txt]

Prints the main thread's call tree (async-aware: time awaiting the network shows as ``[await]``), and a
timeline of the flow's task runs read back from the Prefect API.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench._common import emulator, prefect_harness
from bench._images import write_dataset
from bench.dataset_prep import run_flow


async def _task_timeline() -> list[str]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        runs = await client.read_task_runs()
    rows = sorted((r for r in runs if r.start_time), key=lambda r: r.start_time)
    t0 = rows[0].start_time if rows else None
    return [
        f"{(r.start_time - t0).total_seconds():7.2f} s  +{(r.total_run_time.total_seconds()):6.2f} s  {r.name}"
        for r in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_dataset")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--concurrency", type=int, default=16)  # the flow's default
    parser.add_argument("--out", type=Path, default=None, help="also write the text report here")
    args = parser.parse_args()
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory() as tmp, prefect_harness():
        folder = write_dataset(Path(tmp) / "brand", args.images)
        with emulator(latency_ms=args.latency_ms, time_scale=3600.0, process=True) as emu:
            run_flow(emu, folder, args.concurrency)  # warm-up (flow registration)
            profiler = Profiler(interval=0.001, async_mode="enabled")
            started = time.perf_counter()
            with profiler:
                sample = run_flow(emu, folder, args.concurrency)
            print(f"flow run: {sample['seconds']:.2f} s ({time.perf_counter() - started:.2f} s profiled)")
            timeline = asyncio.run(_task_timeline())
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    print(text)
    print("\n".join(timeline[-12:]))
    if args.out:
        args.out.write_text(text + "\n" + "\n".join(timeline) + "\n")


if __name__ == "__main__":
    main()
