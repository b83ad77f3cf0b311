"""Smoke runs of the Prefect benchmarks (quick mode), on this folder's session harness: no second ~20 s
server start. They prove the benchmark code works and check invariants, never timings."""

from __future__ import annotations

from bench import batch_generation, dataset_prep, polling_cost, task_overhead, vs_script


def test_dataset_prep_quick(tmp_path):
    result = dataset_prep.run(quick=True, workdir=tmp_path)
    requests = result.details["requests_per_run"]
    assert requests["flow"] == requests["raw"]  # the raw script sends exactly the flow's calls
    assert result.details["uploaded"] == {"flow": [6], "raw": [6]}
    assert result.ratio is not None and result.ratio > 0


def test_vs_script_quick(tmp_path):
    result = vs_script.run(quick=True, workdir=tmp_path)
    assert all(v == [6] for v in result.details["uploaded"].values())
    assert result.ratio is not None and result.ratio > 0


def test_batch_generation_quick(tmp_path):
    result = batch_generation.run(quick=True, workdir=tmp_path)
    d = result.details
    assert d["error"] is None and d["images_written"] == d["params"]["jobs"]
    assert d["every_image_downloaded_once"] and d["credits_spent"] == d["params"]["jobs"]
    assert result.status == "pass"  # in quick mode: invariants only


def test_polling_cost_quick(tmp_path):
    result = polling_cost.run(quick=True, workdir=tmp_path)
    calls = result.details["calls"]
    assert set(calls) == {"get-model"} and 10 <= calls["get-model"] <= 25  # 1 h of the default schedule
    assert result.status == "pass"


def test_task_overhead_quick(tmp_path):
    result = task_overhead.run(quick=True, workdir=tmp_path)
    assert all(result.details["correct"].values())
    requests = result.details["requests"]
    # the same client code with and without Prefect sends the same requests
    assert requests["task per image"] == requests["raw per image"]
    assert requests["batch task"] == requests["raw batch"]
    assert requests["task per image"][0] > requests["batch task"][0]
