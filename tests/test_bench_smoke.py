"""Smoke runs of the benchmarks that need no Prefect server (quick mode; never a timing assertion)."""

from __future__ import annotations

from bench import cold_start, hold_free, upload_memory
from bench._common import Result
from bench.run import MARKER, render


def test_cold_start_quick():
    result = cold_start.run(quick=True)
    assert result.status in ("pass", "miss")
    assert len(result.details["runs_s"]) == 2 and all(s > 0 for s in result.details["runs_s"])


def test_hold_free_quick_is_skipped_not_faked():
    result = hold_free.run(quick=True)  # the real measurement needs a Prefect server and a worker
    assert result.status == "skipped" and result.ratio is None


def test_upload_memory_quick(tmp_path):
    result = upload_memory.run(quick=True, workdir=tmp_path)
    runs = result.details["runs"]
    assert [r["uploaded"] for r in runs["small"]] == [2] and [r["uploaded"] for r in runs["big"]] == [6]
    assert all(r["peak_kib"] > 0 and r["step_kib"] >= 0 for rs in runs.values() for r in rs)
    assert result.ratio is not None and result.ratio > 0


def test_results_markdown_keeps_hand_written_investigations():
    rows = [
        Result("cold start", "≤ 0.5 s", "0.2 s", 0.4, "pass").__dict__ | {"date": "today"},
        Result("hold-free wait", "≈ 0", "pending", None, "pending").__dict__,
    ]
    machine = {
        "nproc": "2",
        "cpu": "x",
        "memory": "1 GB",
        "os": "Linux",
        "python": "3.11",
        "prefect": "3.8.8",
        "date": "d",
    }
    text = render(rows, machine, "python -m bench.run", "\n## Investigations\n\nkept\n")
    assert "| cold start | ≤ 0.5 s | 0.2 s | 0.40 | **pass** |" in text
    assert "| hold-free wait | ≈ 0 | pending | — | **pending** |" in text
    assert text.split(MARKER, 1)[1].strip() == "## Investigations\n\nkept"
