"""Run the benchmarks and rewrite ``bench/RESULTS.md``.

    python -m bench.run                         # all, full size (~30 min on 2 cores)
    python -m bench.run --only cold_start,polling_cost
    python -m bench.run --quick                 # tiny sizes, seconds each; prints, writes nothing
    python -m bench.run --prefect-db sqlite     # on Prefect's default SQLite instead of PostgreSQL

A full run merges its rows into ``bench/results.json`` (so ``--only`` updates just those rows) and renders
RESULTS.md from it. Everything below the ``INVESTIGATIONS`` marker in RESULTS.md is hand-written
(profiling, before/after) and kept as is.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench._common import Result, machine_info, prefect_harness
from bench._postgres import postgres_bin, prefect_server_on_postgres

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSON = HERE / "results.json"
MARKER = "<!-- INVESTIGATIONS: hand-written below this line, kept by bench.run -->"

# (module, needs Prefect), in the order (the table's order too)
BENCHMARKS: dict[str, bool] = {
    "dataset_prep": True,
    "vs_script": True,
    "upload_memory": False,
    "batch_generation": True,
    "polling_cost": True,
    "hold_free": False,
    "cold_start": False,
    "task_overhead": True,
}


def run_one(name: str, quick: bool, workdir: Path | None) -> Result:
    module = importlib.import_module(f"bench.{name}")
    started = time.perf_counter()
    try:
        result: Result = module.run(quick=quick, workdir=workdir)
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        traceback.print_exc()
        result = Result(
            name=name, goal="?", figure=f"error: {type(exc).__name__}: {exc}"[:300], status="error"
        )
    result.details["bench_seconds"] = round(time.perf_counter() - started, 1)
    return result


_DB_TEXT = {
    "postgres": "`prefect server start` on PostgreSQL (a fresh local cluster, bench/_postgres.py), as Prefect "
    "recommends for production; `--prefect-db sqlite` runs on the default SQLite (figures in Investigations)",
    "sqlite": "Prefect's test harness on its default SQLite",
}


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render(rows: list[dict[str, Any]], machine: dict[str, str], command: str, investigations: str) -> str:
    lines = [
        "# bria-flows benchmarks",
        "",
        "Each benchmark starts its own Bria emulator on loopback with the stated latency and caps (in a "
        "process of its own for the dataset benchmarks, as Bria is remote; in-process where the benchmark "
        "reads its state), runs both sides alternately in one process (the machine is noisy: other sessions "
        "ran Prefect servers and a headless browser beside it) and reports medians and ratios. "
        "Code: `bench/` (one module per benchmark). The test suite runs a quick mode of each "
        "(`tests/test_bench_smoke.py`, `tests/flows/test_bench_smoke.py`) and never asserts on timings.",
        "",
        f"- **Command**: `{command}` (from the repository root; `--only NAME[,NAME]` re-runs some rows, "
        "`--quick` is a seconds-long smoke run that writes nothing)",
        f"- **Machine**: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']}, {machine['os']}, "
        f"Python {machine['python']}, Prefect {machine['prefect']}",
        f"- **Prefect server**: {_DB_TEXT.get(machine.get('prefect_db', 'sqlite'), '?')}",
        f"- **Date**: {machine['date']}",
        "",
        "| benchmark | goal | figure | ratio | result |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['goal']} | {row['figure']} | {_ratio(row['ratio'])} | **{row['status']}** |"
        )
    lines += ["", "## Details", ""]
    for row in rows:
        lines += [f"### {row['name']}", ""]
        lines += [f"- {note}" for note in row.get("notes", [])]
        where = f" (Prefect server on {row['prefect_db']})" if row.get("prefect_db") else ""
        lines.append(f"- measured {row.get('date', '?')}{where}: `{json.dumps(row['details'], default=str)}`")
        lines.append("")
    lines += [MARKER, investigations.strip("\n"), ""]
    return "\n".join(lines)


def _load_rows() -> dict[str, dict[str, Any]]:
    if RESULTS_JSON.exists():
        return json.loads(RESULTS_JSON.read_text())["rows"]
    return {}


def _investigations() -> str:
    if RESULTS_MD.exists() and MARKER in (text := RESULTS_MD.read_text()):
        return text.split(MARKER, 1)[1]
    return "\n## Investigations\n\n(none yet)\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: proves the code runs; writes nothing"
    )
    parser.add_argument("--render", action="store_true", help="only re-render RESULTS.md from results.json")
    parser.add_argument(
        "--prefect-db",
        choices=("auto", "postgres", "sqlite"),
        default="auto",
        help="the Prefect server's database: auto = PostgreSQL when installed (bench/_postgres.py), else SQLite",
    )
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if args.render:
        saved = json.loads(RESULTS_JSON.read_text())
        ordered = [saved["rows"][n] for n in BENCHMARKS if n in saved["rows"]]
        RESULTS_MD.write_text(
            render(ordered, saved["machine"], ".venv/bin/python -m bench.run", _investigations())
        )
        return 0
    machine = machine_info()
    db = args.prefect_db
    if db == "auto":
        db = "postgres" if postgres_bin() is not None else "sqlite"
    machine["prefect_db"] = db
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bria-bench-")))
        if any(BENCHMARKS[n] for n in names):
            if db == "postgres":
                print("starting a Prefect server on a fresh PostgreSQL cluster...", flush=True)
                stack.enter_context(prefect_server_on_postgres())
            else:
                print("starting a Prefect test harness on SQLite (~20 s on 2 cores)...", flush=True)
                stack.enter_context(prefect_harness(force_new=True))
        for name in names:
            print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
            result = run_one(name, args.quick, workdir)
            print(f"   {result.status}: {result.figure} (ratio {_ratio(result.ratio)})", flush=True)
            results.append(result)
    if args.quick:
        return 0 if all(r.status != "error" for r in results) else 1
    rows = _load_rows()
    for name, result in zip(names, results, strict=True):
        rows[name] = dataclasses.asdict(result) | {
            "date": machine["date"],
            "command": shlex.join(sys.argv),
            "prefect_db": db if BENCHMARKS[name] else None,
        }
    ordered = [rows[n] for n in BENCHMARKS if n in rows]
    RESULTS_JSON.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1, default=str) + "\n")
    RESULTS_MD.write_text(render(ordered, machine, ".venv/bin/python -m bench.run", _investigations()))
    print(f"wrote {RESULTS_MD}")
    return 0 if all(r.status != "error" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
