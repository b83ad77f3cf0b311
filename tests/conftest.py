"""Shared fixtures: one emulator per session on a free loopback port, clients wired to its clock."""

from __future__ import annotations

import random

import pytest
from pydantic import SecretStr

from bria_api import BriaClient, BriaSettings
from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer

TOKEN = "test-token-0b9e7c1d5a"


@pytest.fixture(autouse=True)
def _no_real_bria(monkeypatch):
    """Tests never see a developer's real token or base URL."""
    monkeypatch.delenv("BRIA_API_TOKEN", raising=False)
    monkeypatch.delenv("BRIA_BASE_URL", raising=False)


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server per session (~20 s to start on 2 cores), shared by every package of flow
    tests (each requests it from an autouse fixture); prefect is imported only when one does."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=120):
            yield


@pytest.fixture(scope="session")
def emulator_server():
    # time_scale 1: nothing moves unless a test advances the clock, so nothing depends on wall time.
    config = EmulatorConfig(
        api_token=TOKEN, time_scale=1.0, training_seconds=5 * 3600, generation_seconds=8.0
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


class SleepRecorder:
    """An injected sleep: records each wait and moves the emulator's clock instead of waiting."""

    def __init__(self, emulator: EmulatorServer | None = None) -> None:
        self.calls: list[float] = []
        self._emulator = emulator

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self._emulator is not None:
            self._emulator.advance(seconds)


@pytest.fixture
def sleeps(emulator) -> SleepRecorder:
    return SleepRecorder(emulator)


@pytest.fixture
def settings(emulator) -> BriaSettings:
    return BriaSettings(
        api_token=SecretStr(TOKEN),
        base_url=emulator.url,
        requests_per_minute=60_000,
        max_retries=4,
        request_deadline=10.0,
        operation_budget=120.0,
    )


@pytest.fixture
async def bria(settings, sleeps):
    async with BriaClient(settings, sleep=sleeps, rng=random.Random(7)) as client:
        yield client
