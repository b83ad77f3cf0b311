"""Golden-prompt gallery and promotion: the alias moves only after an approval, and "promoted" follows it."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from prefect import tags
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterTags
from prefect.flow_runs import aresume_flow_run
from prefect.variables import Variable
from pydantic import SecretStr

from bria_api import BriaClient, BriaSettings, BriaValidationError
from flows.gallery import golden_gallery
from flows.generation import generate_images
from flows.params import PromptSpec
from tasks.promotion import VARIABLE, NoPromotedModel, promote, read_promoted
from tests.api_setup import completed_dataset, started_models
from tests.flows.conftest import TOKEN

GOLDEN = {
    "version": "t1",
    "prompts": [
        {"id": "studio", "prompt": "the mug on a studio background", "seed": 11, "aspect_ratio": "1:1"},
        {"id": "kitchen", "prompt": "the mug in a kitchen at dawn", "seed": 12, "aspect_ratio": "16:9"},
    ],
}


@pytest.fixture
async def no_alias():
    await Variable.aunset(VARIABLE)
    yield
    await Variable.aunset(VARIABLE)


@pytest.fixture
def golden_file(tmp_path):
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(GOLDEN))
    return path


async def trained_models(emulator, count: int) -> list[int]:
    """Completed models on one 5-image dataset, made straight through the API (no flow)."""
    settings = BriaSettings(api_token=SecretStr(TOKEN), base_url=emulator.url, requests_per_minute=100_000)
    async with BriaClient(settings) as bria:
        ids = await started_models(bria, await completed_dataset(bria, "gallery", "gallery v1"), count)
    emulator.advance(6 * 3600)
    return ids


def submits(emulator) -> int:
    return emulator.stats()["operations"].get("image-generate-tailored", {}).get("requests", 0)


async def decide(model_id: int, golden_file, out, *, approve: bool, reason: str, before_decision=None):
    """Run a gallery, wait until it pauses for the decision, check ``before_decision``, then resume it."""
    return await answer_when_paused(
        lambda: golden_gallery(model_id, golden_file, out_dir=out),
        {"approve": approve, "reason": reason},
        before_decision,
    )


async def answer_when_paused(start, answer: dict, before_decision=None):
    """Start a flow (``start()``), wait until it pauses for input, check ``before_decision``, resume it
    with ``answer`` and return the flow's result."""
    tag = f"pause-test-{uuid.uuid4().hex[:8]}"
    with tags(tag):
        run = asyncio.create_task(start())
    paused = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[tag]), state=FlowRunFilterState(type={"any_": ["PAUSED"]})
    )
    async with get_client() as prefect:
        for _ in range(300):
            assert not run.done(), run.exception() if run.done() else None
            if found := await prefect.read_flow_runs(flow_run_filter=paused):
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the gallery never paused for a decision")
        if before_decision:
            await before_decision(found[0].id)
        await aresume_flow_run(found[0].id, run_input=answer)
    return await asyncio.wait_for(run, 120)


async def artifact(flow_run_id, key: str) -> str:
    async with get_client() as prefect:
        for a in await prefect.read_artifacts():
            if a.key == key and a.flow_run_id == flow_run_id:
                return a.data
    raise AssertionError(f"no artifact {key} on run {flow_run_id}")


async def test_rejection_leaves_the_alias_and_approval_moves_it(bria_env, no_alias, golden_file, tmp_path):
    first, second = await trained_models(bria_env, 2)
    await promote(first, None, "the brand's first model", "t0")
    out = tmp_path / "gallery"

    async def side_by_side(run_id):
        assert (await read_promoted()).model_id == first  # paused: nothing moved yet
        markdown = await artifact(run_id, f"golden-gallery-{second}")
        assert f"promoted: model {first}" in markdown and f"candidate: model {second}" in markdown
        assert markdown.count("data:image/jpeg;base64,") == 2 * len(GOLDEN["prompts"])

    result = await decide(
        second, golden_file, out, approve=False, reason="colours drift", before_decision=side_by_side
    )
    assert result.decision == "rejected" and result.promoted_before == first
    assert (await read_promoted()).model_id == first
    for row in result.rows:  # same prompt, same seed, both models
        new, old = (json.loads(p.with_suffix(".json").read_text()) for p in (row.candidate, row.promoted))
        assert (new["seed"], new["prompt"]) == (old["seed"], old["prompt"]) and new["seed"] == row.seed
        assert (new["model_id"], old["model_id"]) == (str(second), str(first))
    assert (out / f"gallery-{second}.md").read_text().count("](model-") == 2 * len(GOLDEN["prompts"])
    paid = submits(bria_env)
    assert paid == 2 * len(GOLDEN["prompts"])

    result = await decide(second, golden_file, out, approve=True, reason="better light")
    assert result.decision == "approved" and submits(bria_env) == paid  # a second look costs nothing
    promoted = await read_promoted()
    assert (promoted.model_id, promoted.previous_model_id, promoted.reason) == (second, first, "better light")
    assert promoted.prompts_version == "t1" and promoted.flow_run_id

    files = await generate_images(
        "promoted", prompts=[PromptSpec(prompt="nightly", seed=3)], out_dir=tmp_path
    )
    assert json.loads(files[0].sidecar.read_text())["model_id"] == str(second)


async def test_bad_golden_prompts_are_refused_before_any_request(bria_env, tmp_path):
    bad = tmp_path / "golden.json"
    bad.write_text(
        json.dumps({"version": "t", "prompts": [{"id": "a", "prompt": "x", "aspect_ratio": "1:1"}]})
    )
    with pytest.raises(BriaValidationError, match=r"golden\.json: prompts\.0\.seed: Field required"):
        await golden_gallery(1, bad, out_dir=tmp_path)
    assert bria_env.stats()["operations"] == {}


async def test_promoted_before_any_promotion_is_a_clear_error(bria_env, no_alias, tmp_path):
    with pytest.raises(NoPromotedModel, match="no model has been promoted yet"):
        await generate_images("promoted", prompts=[PromptSpec(prompt="x")], out_dir=tmp_path)
    assert bria_env.stats()["operations"] == {}
