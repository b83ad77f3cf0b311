"""Budget cap of a generation batch and the billing ledger, against the emulator over HTTP."""

from __future__ import annotations

import json

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_API_URL

from bria_api.pricing import UnknownPriceError
from flows.generation import generate_images, generate_lite
from flows.params import PromptSpec
from tasks.ledger import read_ledger
from tasks.training import start_training
from tests.flows.anchors import trained_model
from tests.flows.test_cli import bria_flows

PROMPTS = [PromptSpec(prompt=f"a mug, take {i}", seed=i) for i in range(5)]


def submits(emulator) -> int:
    return emulator.stats()["operations"].get("image-generate-tailored", {}).get("requests", 0)


async def test_budget_stops_the_batch_before_the_cap(bria_env, tmp_path, monkeypatch):
    model_id = await trained_model(bria_env)
    monkeypatch.setenv("BRIA_PRICE_TAILORED_IMAGE", "0.04")
    before = submits(bria_env)
    # 0.13 affords 3 images at 0.04 (0.12); a 4th would exceed it, so it is never submitted
    files = await generate_images(model_id, PROMPTS, out_dir=tmp_path / "out", budget=0.13)
    assert submits(bria_env) - before == 3
    assert [f.path.name.split("-")[1] for f in files] == ["000", "001", "002"]
    flow_run_id = json.loads(files[0].sidecar.read_text())["flow_run_id"]
    rows = await read_ledger(flow_run_id)
    assert [(r["kind"], r["estimate"]) for r in rows] == [("image-generate-tailored", "0.04 USD")] * 3
    assert sorted(r["request id"] for r in rows) == sorted(f.request_id for f in files)

    # a second run with the same budget: the 3 saved images are free, the 2 left fit
    again = await generate_images(model_id, PROMPTS, out_dir=tmp_path / "out", budget=0.13)
    assert submits(bria_env) - before == 5
    assert sum(f.reused for f in again) == 3 and len(again) == 5


async def test_max_images_caps_without_prices(bria_env, tmp_path):
    model_id = await trained_model(bria_env)
    before = submits(bria_env)
    files = await generate_images(model_id, PROMPTS, out_dir=tmp_path / "out", max_images=2)
    assert len(files) == 2 and submits(bria_env) - before == 2


async def test_money_budget_with_unknown_price_fails_before_any_call(bria_env, tmp_path):
    model_id = await trained_model(bria_env)
    before = bria_env.stats()["mutating_requests"]
    with pytest.raises(UnknownPriceError, match="BRIA_PRICE_TAILORED_IMAGE"):
        await generate_images(model_id, PROMPTS, out_dir=tmp_path / "out", budget=1.0)
    assert bria_env.stats()["mutating_requests"] == before


async def test_lite_calls_on_both_backends_are_in_the_ledger(bria_env, tmp_path, monkeypatch):
    monkeypatch.setenv("INFERENCE_API_KEY", bria_env.inference_api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", bria_env.inferencesh_url)
    monkeypatch.setenv("BRIA_PRICE_INFERENCESH_LITE_IMAGE", "0.01")
    for backend in ("bria", "inferencesh"):
        files = await generate_lite(
            "a red bicycle", num_images=2, out_dir=tmp_path / backend, backend=backend
        )
        rows = await read_ledger(json.loads(files[0].sidecar.read_text())["flow_run_id"])
        kind = {"bria": "image-generate-lite", "inferencesh": "inferencesh-generate-lite"}[backend]
        estimate = {"bria": "unknown", "inferencesh": "0.01 USD"}[backend]
        assert [(r["kind"], r["estimate"]) for r in rows] == [(kind, estimate)] * 2
        assert sorted(r["request id"] for r in rows) == sorted(f.request_id for f in files)


async def test_a_submit_whose_answer_was_lost_is_on_the_ledger_flagged(bria_env, tmp_path):
    model_id = await trained_model(bria_env)
    bria_env.set_faults(
        {"rules": [{"op": "image-generate-tailored", "times": 1, "kind": "commit_then_drop"}]}
    )
    with pytest.raises(Exception, match="may have accepted and charged it") as info:
        await generate_images(model_id, PROMPTS[:1], out_dir=tmp_path / "out")
    assert type(info.value).__name__ == "SubmitOutcomeUnknown"
    run_id = await _last_run_id("generate-images")
    (row,) = await read_ledger(run_id)
    assert (row["kind"], row["request id"]) == ("image-generate-tailored", "-")
    assert row["note"] == "answer lost: Bria may have charged it"


@flow
async def start_once(model_id: int) -> str:
    return (await start_training(model_id)).status


async def test_a_training_start_whose_answer_was_lost_is_still_on_the_ledger(bria_env):
    model_id = await trained_model(bria_env, train=False)
    bria_env.set_faults({"rules": [{"op": "start-training", "times": 1, "kind": "commit_then_drop"}]})
    assert await start_once(model_id) == "InProgress"
    (row,) = await read_ledger(await _last_run_id("start-once"))
    assert (row["kind"], row["model"]) == ("start-training", str(model_id))
    assert bria_env.stats()["trainings_started"] == 1


async def _last_run_id(flow_name: str):
    async with get_client() as prefect:
        runs = await prefect.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=1,
        )
    return runs[0].id


def test_cli_budget_without_a_price_fails_clearly_before_any_call(bria_env, tmp_path):
    env = {"PREFECT_API_URL": PREFECT_API_URL.value()}
    before = bria_env.stats()["mutating_requests"]
    args = ("generate", "--model-id", "4242", "-p", "a mug", "--budget", "2", "--out", str(tmp_path))
    result = bria_flows(*args, env=env)
    assert result.returncode == 1 and "set BRIA_PRICE_TAILORED_IMAGE" in result.stderr
    assert bria_env.stats()["mutating_requests"] == before
