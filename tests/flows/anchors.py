"""Helpers of the approval, budget, caption-review and dataset-version tests."""

from __future__ import annotations

import asyncio

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType

from bria_api import BriaClient
from tests.imagegen import distinct_images


async def trained_model(emulator, name: str = "ready model", *, train: bool = True) -> int:
    """A Completed model made straight through the API (no flow, nothing in any ledger); with ``train=False``
    a Created one on a completed dataset."""
    async with BriaClient() as bria:
        project = await bria.projects.create(f"{name} project", ip_medium="photography", ip_type="other")
        dataset = await bria.datasets.create(project.id, f"{name} dataset")
        await bria.datasets.update(dataset.id, visual_schema='{"style": "studio"}')
        for i, data in enumerate(distinct_images(5, size=320)):
            await bria.images.upload(dataset.id, data, image_name=f"img-{i}.png")
        await bria.datasets.complete(dataset.id)
        model = await bria.models.create(name, dataset.id)
        if not train:
            return model.id
        await bria.models.start_training(model.id)
        emulator.advance(24 * 3600)
        assert (await bria.models.get(model.id)).status == "Completed"
    return model.id


async def paused_run(flow_name: str, running: asyncio.Task, timeout: float = 60.0) -> FlowRun:
    """The flow run of ``flow_name`` once it is Paused (waiting for input); fails if ``running`` ends first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with get_client() as prefect:
        while True:
            runs = await prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                )
            )
            named = [r for r in runs if (await prefect.read_flow(r.flow_id)).name == flow_name]
            if named:
                return named[0]
            if running.done():
                running.result()  # raises the flow's error
                raise AssertionError(f"{flow_name} finished without pausing")
            assert loop.time() < deadline, f"{flow_name} did not pause within {timeout} s"
            await asyncio.sleep(0.2)
