"""Fixtures: one real emulator on loopback per test session; state, stats and faults reset per test."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from bria_emulator import EmulatorConfig, EmulatorServer

TOKEN = "emulator-test-token"
SIX_HOURS = 6 * 3600 + 1


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorConfig(api_token=TOKEN, seed=7))
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, headers={"api_token": emulator.token}, timeout=10.0) as c:
        yield c


def png_bytes(
    width: int = 1024, height: int = 1024, color: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG"
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create_project(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = {"project_name": "Brand", "ip_medium": "illustration", "ip_type": "stylized_scene", **overrides}
    response = client.post("/v1/tailored-gen/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_dataset(client: httpx.Client, project_id: int, upload_type: str = "basic") -> dict[str, Any]:
    response = client.post(
        "/v1/tailored-gen/datasets", json={"project_id": project_id, "name": "ds", "upload_type": upload_type}
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload(client: httpx.Client, dataset_id: int, n: int = 1, size: int = 512, start: int = 0) -> list[dict]:
    out = []
    for i in range(start, start + n):
        response = client.post(
            f"/v1/tailored-gen/datasets/{dataset_id}/images",
            json={"file": b64(png_bytes(size, size, (i * 40 % 255, 80, 120))), "image_name": f"img{i}.png"},
        )
        assert response.status_code == 201, response.text
        out.append(response.json())
    return out


def completed_dataset(client: httpx.Client, images: int = 5) -> dict[str, Any]:
    project = create_project(client)
    ds = create_dataset(client, project["id"])
    client.put(f"/v1/tailored-gen/datasets/{ds['id']}", json={"visual_schema": '{"style": "flat"}'})
    upload(client, ds["id"], images)
    response = client.put(f"/v1/tailored-gen/datasets/{ds['id']}", json={"status": "completed"})
    assert response.status_code == 200, response.text
    return response.json()


def trained_model(
    client: httpx.Client,
    emulator: EmulatorServer,
    mode: str = "fully_automated",
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ds = completed_dataset(client)
    model = client.post(
        "/v1/tailored-gen/models", json={"name": "m", "dataset_id": ds["id"], "training_mode": mode}
    ).json()
    started = client.post(f"/v1/tailored-gen/models/{model['id']}/start_training", json=params or {})
    assert started.status_code == 200, started.text
    emulator.advance(SIX_HOURS)
    done = client.get(f"/v1/tailored-gen/models/{model['id']}").json()
    assert done["status"] == "Completed"
    return done
