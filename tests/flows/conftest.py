"""Flow tests: one Prefect test harness per session (``prefect_harness`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer
from tests.imagegen import distinct_images

TOKEN = "flow-test-token-31f2a9"


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_harness):
    yield


@pytest.fixture(scope="session")
def fast_emulator_server():
    # 3600x: a 5 h training passes in ~5 s, 60 s of captioning in ~17 ms; flows poll every ~0.2 s.
    config = EmulatorConfig(
        api_token=TOKEN, time_scale=3600.0, training_seconds=3 * 3600, generation_seconds=8.0
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def bria_env(fast_emulator_server, monkeypatch):
    """The emulator, reset, with BRIA_API_TOKEN/BRIA_BASE_URL pointing at it (credentials=None path)."""
    fast_emulator_server.reset()
    monkeypatch.setenv("BRIA_API_TOKEN", TOKEN)
    monkeypatch.setenv("BRIA_BASE_URL", fast_emulator_server.url)
    monkeypatch.setenv("BRIA_REQUESTS_PER_MINUTE", "100000")
    yield fast_emulator_server
    fast_emulator_server.reset()


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "brand"
    folder.mkdir()
    for i, data in enumerate(distinct_images(6, size=512)):
        (folder / f"img-{i}.png").write_bytes(data)
    return folder
