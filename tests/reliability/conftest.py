"""Fixtures of the reliability rows that run flows: a fast emulator, small datasets, a trained model.

The emulator clock runs 3600x (a 30 min training passes in 0.5 s) and generation jobs finish at once, so a
whole faulted lifecycle takes seconds; faults come from seeded ``FaultProfile`` rules. Modules that run flows
add ``pytestmark = pytest.mark.usefixtures("prefect_harness")`` (the session's one Prefect test server).
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from pydantic import SecretStr

from bria_api import BriaClient, BriaSettings
from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer
from tests.imagegen import distinct_images

TOKEN = "reliability-token-5c81e0a7"
FAST = 3600.0  # emulated seconds per real second


@pytest.fixture(scope="session")
def flow_emulator():
    config = EmulatorConfig(
        api_token=TOKEN, time_scale=FAST, training_seconds=1800, generation_seconds=0.0, seed=11
    )
    with EmulatorServer(config) as server:
        yield server


def _forget_training_records() -> None:
    """Drop the ownership records earlier tests left in the session's Prefect server: a reset emulator numbers
    its models from the start again, so a stale ``bria-training-<id>`` would name this test's model (and an
    owner run long finished, which the reaper rightly leaves alone)."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():  # no Prefect server in this test: nothing to forget
        return
    from tasks.registry import drop_record, read_records

    async def forget() -> None:
        for record in await read_records():
            await drop_record(record.model_id)

    asyncio.run(forget())


def set_time_scale(emulator: EmulatorServer, time_scale: float) -> None:
    httpx.post(f"{emulator.url}/_emulator/clock", json={"time_scale": time_scale}).raise_for_status()


@pytest.fixture
def flow_bria(flow_emulator, monkeypatch):
    """The emulator, reset, with the environment pointing the flows' clients at it."""
    flow_emulator.reset()
    set_time_scale(flow_emulator, FAST)
    _forget_training_records()
    monkeypatch.setenv("BRIA_API_TOKEN", TOKEN)
    monkeypatch.setenv("BRIA_BASE_URL", flow_emulator.url)
    monkeypatch.setenv("BRIA_REQUESTS_PER_MINUTE", "100000")
    yield flow_emulator
    flow_emulator.reset()
    set_time_scale(flow_emulator, FAST)


@pytest.fixture
def brand_dir(tmp_path):
    """Five small distinct images: the smallest dataset Bria accepts."""
    folder = tmp_path / "brand"
    folder.mkdir()
    for i, data in enumerate(distinct_images(5, size=320)):
        (folder / f"img-{i}.png").write_bytes(data)
    return folder


def client_for(emulator: EmulatorServer) -> BriaClient:
    settings = BriaSettings(
        api_token=SecretStr(TOKEN), base_url=emulator.url, requests_per_minute=100_000, max_retries=0
    )
    return BriaClient(settings, rng=random.Random(0))


async def completed_dataset(emulator: EmulatorServer, name: str = "ready") -> tuple[int, int]:
    """(project id, dataset id) of a completed 5-image dataset, made straight through the API (no flow)."""
    async with client_for(emulator) as bria:
        project = await bria.projects.create(f"{name} project", ip_medium="photography", ip_type="other")
        dataset = await bria.datasets.create(project.id, f"{name} dataset")
        await bria.datasets.update(dataset.id, visual_schema='{"style": "studio"}')
        for i, data in enumerate(distinct_images(5, size=320)):
            await bria.images.upload(dataset.id, data, image_name=f"img-{i}.png")
        await bria.datasets.complete(dataset.id)
        return project.id, dataset.id


async def training_model(emulator: EmulatorServer, name: str = "ready model") -> int:
    """A model whose training has just started."""
    _, dataset_id = await completed_dataset(emulator, name)
    async with client_for(emulator) as bria:
        model = await bria.models.create(name, dataset_id)
        await bria.models.start_training(model.id)
        return model.id


async def trained_model(emulator: EmulatorServer, name: str = "ready model") -> int:
    """A Completed model: the starting point of generation rows."""
    model_id = await training_model(emulator, name)
    emulator.advance(3600)
    async with client_for(emulator) as bria:
        assert (await bria.models.get(model_id)).status == "Completed"
    return model_id


@pytest.fixture
def fast_backoff(monkeypatch):
    """The client's own backoff compressed 20x, as the emulator compresses its clock (a Retry-After the
    server sends is still honoured as sent). Attempts and decisions are unchanged; only the waits shrink."""
    import bria_api.transport as transport

    for name in ("_BACKOFF_BASE", "_BACKOFF_CAP", "_RATE_LIMIT_BASE", "_RATE_LIMIT_CAP"):
        monkeypatch.setattr(transport, name, getattr(transport, name) / 20)
