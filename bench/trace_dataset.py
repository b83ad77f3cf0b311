"""Every HTTP call of one ``prepare_dataset`` run, to Bria and to Prefect, with its start, duration and status.

    .venv/bin/python -m bench.trace_dataset [--images 200] [--prefect-db postgres|sqlite]

The dataset benchmark's setup (emulator in its own process, 250 ms per call, 16 uploads in flight); one
warm-up run, then one traced run. Upload POSTs are summarised in one line. This is how the 2 s stalls of a
Prefect server on SQLite were found (a 503 "database is locked", then the Prefect client's 2 s backoff).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import httpx

from bench._common import emulator, prefect_harness
from bench._images import write_dataset
from bench._postgres import prefect_server_on_postgres
from bench.dataset_prep import run_flow

_calls: list[tuple[float, float, str, str, str]] = []  # start, seconds, method, path, status
_t0 = [0.0]


def _traced(send):  # noqa: ANN001, ANN202 - wraps httpx.AsyncClient.send
    async def send_and_record(self, request, *args, **kwargs):  # noqa: ANN001, ANN202
        started, status = time.perf_counter(), "error"
        try:
            response = await send(self, request, *args, **kwargs)
            status = str(response.status_code)
            return response
        finally:
            path = re.sub(r"^https?://[^/]+", "", str(request.url))
            _calls.append((started - _t0[0], time.perf_counter() - started, request.method, path, status))

    return send_and_record


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trace_dataset")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--prefect-db", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args()
    httpx.AsyncClient.send = _traced(httpx.AsyncClient.send)  # type: ignore[method-assign]
    server = (
        prefect_server_on_postgres() if args.prefect_db == "postgres" else prefect_harness(force_new=True)
    )
    with tempfile.TemporaryDirectory() as tmp, server:
        folder = write_dataset(Path(tmp) / "brand", args.images)
        with emulator(latency_ms=250.0, time_scale=3600.0, process=True) as emu:
            run_flow(emu, folder, 16)  # warm-up: flow and deployment registration
            _calls.clear()
            _t0[0] = time.perf_counter()
            sample = run_flow(emu, folder, 16)
    uploads = [c for c in _calls if c[2] == "POST" and re.search(r"/datasets/\d+/images$", c[3])]
    print(f"flow run {sample['seconds']:.2f} s on a Prefect server on {args.prefect_db}")
    if uploads:
        end = max(s + d for s, d, *_ in uploads)
        print(f"{len(uploads)} uploads from {min(c[0] for c in uploads):.3f} s to {end:.3f} s")
    for started, seconds, method, path, status in sorted(c for c in _calls if c not in uploads):
        flag = "  <-- retried by the Prefect client after its backoff" if status == "503" else ""
        print(f"{started:7.3f} s +{seconds:6.3f} s {status:>5} {method:6} {path[:100]}{flag}")


if __name__ == "__main__":
    main()
