"""Rows 14 and 15: kill -9 at seeded points of the dataset preparation and of the training start; re-run.

The crash injector: a ``hold`` fault parks one Bria request in the emulator at the chosen point (``request``:
before its side effect; ``response``: committed, answer not sent; ``next``: the client has read the answer
and its next request is parked). The test waits for the emulator to report the parked request, SIGKILLs the
flow's process, releases the hold and runs the flow again: half the points retry the killed run under the
same flow-run id (as the UI's Retry does), half start a fresh run.
"""

from __future__ import annotations

import asyncio
import hashlib
import random

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow_async
from prefect.states import Scheduled

from flows.dataset import prepare_dataset
from flows.lifecycle import tailored_lifecycle
from tasks.registry import read_record
from tests.reliability.conftest import TOKEN
from tests.reliability.figures import figure
from tests.reliability.processes import FlowProcess, wait_until

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.timeout(900)]

# Mutating requests of prepare_dataset on five images, one upload at a time: (operationId, occurrence).
# (The emulator captions on upload, as Bria does, so no caption regeneration is requested.)
PREP_STEPS = [
    ("create-project", 1),
    ("create-dataset", 1),
    ("generate-visual-schema", 1),
    ("update-dataset", 1),  # the visual schema
    *[("upload-image", n) for n in range(1, 6)],
    ("update-dataset", 2),  # completion
]
PHASES = ["request", "response", "next"]  # before the commit / after it, before the answer / after the answer
SEED = 14
_rng = random.Random(SEED)
POINTS = [  # no "next" after the last step: no Bria request follows it
    (step, phase)
    for phase, k in zip(PHASES, (4, 3, 3), strict=True)
    for step in _rng.sample(PREP_STEPS[:-1] if phase == "next" else PREP_STEPS, k)
]


def _parameters(images, **dataset) -> dict:
    return {
        "project": {"project_name": "Crash brand"},
        "dataset": {
            "name": "crash v1",
            "images_dir": str(images),
            "caption_poll_seconds": 0.1,
            "upload_concurrency": 1,
            **dataset,
        },
    }


def _hold(emulator, op: str, nth: int, phase: str) -> None:
    emulator.set_faults({"rules": [{"op": op, "kind": "hold", "hold": phase, "after": nth - 1, "times": 1}]})


def _kill_at_hold(emulator, child: FlowProcess, spec: dict, point: str) -> FlowProcess:
    child.go(spec)
    try:
        wait_until(
            "the run to reach the crash point",
            lambda: emulator.stats()["holds"]["waiting"] or not child.alive(),
            timeout=180,
        )
        assert child.alive(), f"the run ended before the crash point {point}:\n{child.output()[-3000:]}"
    finally:
        child.kill()
    emulator.release()
    emulator.set_faults({})
    return child


async def _rerun(flow, parameters: dict, killed_run_id: str | None, same_id: bool):
    if not same_id:
        return await flow(**flow.validate_parameters(parameters))
    async with get_client() as client:  # the UI's Retry: the same flow-run id goes back to Scheduled
        await client.set_flow_run_state(killed_run_id, Scheduled(name="AwaitingRetry"), force=True)
        flow_run = await client.read_flow_run(killed_run_id)
    return await run_flow_async(flow, flow_run=flow_run, parameters=flow_run.parameters)


def _remote_checksums(emulator, dataset_id: int) -> list[str]:
    headers = {"api_token": TOKEN}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=30) as http:
        images = http.get(f"/v1/tailored-gen/datasets/{dataset_id}/images").json()
        return sorted(hashlib.sha256(http.get(img["image_url"]).content).hexdigest() for img in images)


def test_the_seeded_points_cover_every_phase():
    assert {phase for _, phase in POINTS} == set(PHASES) and len(set(POINTS)) == 10


@pytest.mark.slow
async def test_kill9_during_dataset_preparation_then_rerun_resumes(flow_bria, brand_dir, tmp_path):
    expected = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in brand_dir.iterdir())
    resumed, rows = 0, []
    parameters = _parameters(brand_dir)
    spare = FlowProcess(tmp_path / "0.log")
    for i, ((op, nth), phase) in enumerate(POINTS):
        flow_bria.reset()
        _hold(flow_bria, op, nth, phase)
        point = f"{op}#{nth}/{phase}"
        child = _kill_at_hold(flow_bria, spare, {"flow": "prepare", "parameters": parameters}, point)
        spare = FlowProcess(tmp_path / f"{i + 1}.log")  # imports while this point is checked
        same_id = i % 2 == 0
        prepared = await _rerun(prepare_dataset, parameters, child.flow_run_id(), same_id)
        stats = flow_bria.stats()
        dataset = stats["datasets"][str(prepared.dataset_id)]
        row = {
            "point": point,
            "rerun": "same id" if same_id else "fresh",
            "projects": stats["resources"]["projects"],
            "datasets": stats["resources"]["datasets"],
            "images": dataset["images"],
            "duplicates": dataset["duplicate_contents"],
            "schemas paid": stats["credit_requests"],  # the only credit-spending call of the preparation
        }
        rows.append(row)
        assert (row["projects"], row["datasets"], row["images"], row["duplicates"]) == (1, 1, 5, 0), row
        assert _remote_checksums(flow_bria, prepared.dataset_id) == expected, row
        resumed += 1
        print(row, flush=True)
    spare.discard()
    paid_twice = sum(r["schemas paid"] > 1 for r in rows)
    figure(
        14,
        f"{resumed}/{len(POINTS)} resumed after kill -9 (seed {SEED}); duplicate projects/datasets/images 0; "
        f"dataset checksum-equal {resumed}/{len(POINTS)}; visual schema paid twice at {paid_twice} points",
    )


def _lifecycle_parameters(images, out) -> dict:
    return {
        **_parameters(images),
        "training": {"model_name": "crash model", "poll_initial_seconds": 0.2, "poll_max_seconds": 0.5},
        "samples": [{"prompt": "a mug on a desk", "seed": 1}],
        "out_dir": str(out),
    }


async def _until(what: str, check, timeout: float = 120.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


@pytest.mark.slow
async def test_kill9_after_training_accepted_rerun_attaches_to_it(flow_bria, brand_dir, tmp_path):
    """The start is committed, the answer never reaches the run (killed): a fresh re-run finds and watches it.

    (Both re-run kinds went through this once, 1 training each; the kill matrix above alternates them.)
    """
    flow_bria.set_faults({})
    httpx.post(f"{flow_bria.url}/_emulator/clock", json={"time_scale": 0.001})  # training waits for us
    try:
        parameters = _lifecycle_parameters(brand_dir, tmp_path / "out")
        _hold(flow_bria, "start-training", 1, "response")
        spec = {"flow": "lifecycle", "parameters": parameters}
        child = _kill_at_hold(
            flow_bria, FlowProcess(tmp_path / "killed.log"), spec, "start-training/response"
        )
        assert flow_bria.stats()["trainings_started"] == 1  # accepted before the kill
        [model] = httpx.get(f"{flow_bria.url}/v1/tailored-gen/models", headers={"api_token": TOKEN}).json()
        assert model["status"] == "InProgress" and await read_record(model["id"]) is None  # never recorded
        rerun = asyncio.create_task(
            _rerun(tailored_lifecycle, parameters, child.flow_run_id(), same_id=False)
        )
        owner = await _until("the re-run to attach", lambda: read_record(model["id"]))
        await asyncio.to_thread(flow_bria.advance, 3600)  # the training ends while the re-run watches
        result = await rerun
    finally:
        httpx.post(f"{flow_bria.url}/_emulator/clock", json={"time_scale": 3600})
    stats = flow_bria.stats()
    assert result.model_id == model["id"] and len(result.images) == 1
    assert stats["trainings_started"] == 1 and stats["operations"]["start-training"]["requests"] == 1
    assert stats["resources"]["models"] == 1
    assert owner.flow_run_id  # the re-run recorded itself as the watcher (the killed run never did)
    figure(
        15,
        "kill -9 after start_training was accepted, fresh re-run: "
        f"trainings started {stats['trainings_started']}, start requests {stats['operations']['start-training']['requests']}, "
        f"re-run attached and watched model {model['id']} to Completed",
    )
