"""Cold start: wall time of ``bria-flows --help`` in a fresh process (lazy imports). Goal: <= 0.5 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._common import ROOT, Result, verdict

FULL = {"runs": 5}
QUICK = {"runs": 2}
GOAL = 0.5


def _wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    p = QUICK if quick else FULL
    script = Path(sys.executable).with_name("bria-flows")
    cli = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "deployments.cli", "--help"]
    bare = [sys.executable, "-c", "pass"]
    _wall(cli)  # warm the page cache: a cold disk is not what this measures
    cli_runs, bare_runs = [], []
    for _ in range(p["runs"]):  # alternate with a bare interpreter start, the floor
        cli_runs.append(_wall(cli))
        bare_runs.append(_wall(bare))
    median = statistics.median(cli_runs)
    return Result(
        name="cold start",
        goal=f"≤ {GOAL} s",
        figure=f"`bria-flows --help` {median:.3f} s (bare `python -c pass` {statistics.median(bare_runs):.3f} s)",
        ratio=median / GOAL,
        status=verdict(median <= GOAL),
        details={
            "params": p,
            "runs_s": [round(s, 3) for s in cli_runs],
            "bare_runs_s": [round(s, 3) for s in bare_runs],
        },
        notes=[f"median of {p['runs']} runs after one warm-up; the ratio column is the median / {GOAL} s."],
    )
