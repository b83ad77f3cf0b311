"""v1 models: training state machine, expert parameters, checkpoints, downloads."""

from __future__ import annotations

import httpx

from bria_emulator import EmulatorServer

from .conftest import SIX_HOURS, completed_dataset, create_dataset, create_project, trained_model

P = "/v1/tailored-gen"


def _model(client: httpx.Client, dataset_id: int, mode: str = "fully_automated", **extra: object) -> dict:
    response = client.post(
        f"{P}/models", json={"name": "m", "dataset_id": dataset_id, "training_mode": mode, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_model_rules(client: httpx.Client) -> None:
    assert client.post(f"{P}/models", json={"name": "m", "dataset_id": 1}).status_code == 404
    assert client.post(f"{P}/models", json={"dataset_id": 1}).status_code == 400
    ds = create_dataset(client, create_project(client)["id"])
    # seed-era fields are tolerated
    model = _model(client, ds["id"], training_version="max", training_method="automatic_training")
    assert (model["status"], model["active_model_version"], model["training_parameters"]) == (
        "Created",
        "default",
        {},
    )
    assert model["checkpoint_steps"] == [] and model["custom_metadata"] == ""
    assert "." in model["created_at"] and not model["created_at"].endswith("Z")
    project = client.get(f"{P}/projects/{ds['project_id']}").json()
    assert project["training_version"] == "fibo"
    assert (
        client.post(f"{P}/models/{model['id']}/start_training", json={}).status_code == 412
    )  # draft dataset
    listed = client.get(f"{P}/models").json()
    assert "training_parameters" not in listed[0]
    assert (
        "checkpoint_steps"
        in client.get(f"{P}/models", params={"include_training_parameters": True}).json()[0]
    )
    renamed = client.put(f"{P}/models/{model['id']}", json={"name": "n"}).json()
    assert set(renamed) == {"id", "name", "description", "status", "project_id", "dataset_id", "created_at"}


def test_training_completes_after_advance(client: httpx.Client, emulator: EmulatorServer) -> None:
    ds = completed_dataset(client)
    model = _model(client, ds["id"])
    url = f"{P}/models/{model['id']}"
    started = client.post(f"{url}/start_training", json={})
    assert started.status_code == 200
    body = started.json()
    assert body["status"] == "InProgress" and body["training_parameters"]["total_training_steps"] >= 750
    assert client.post(f"{url}/start_training", json={}).json() == {
        "message": "Model training already started"
    }
    assert client.delete(url).status_code == 409
    assert client.delete(f"{P}/projects/{ds['project_id']}").status_code == 409
    assert client.delete(f"{P}/datasets/{ds['id']}").status_code == 409
    emulator.advance(3.9 * 3600)
    assert client.get(url).json()["status"] == "InProgress"  # realistic 4-6 h
    emulator.advance(2.2 * 3600)
    done = client.get(url).json()
    assert done["status"] == "Completed" and done["active_model_version"] == "default"
    assert (
        client.get(f"{url}/checkpoints").json()
        == "Checkpoints are only available for models trained in expert mode"
    )
    download = client.get(f"{url}/download").json()
    assert download["base_model_name"] == "BRIA-FIBO"
    assert httpx.get(download["download_url"]).content[8:9] == b"{"  # safetensors header
    assert client.delete(url).status_code == 204


def test_stop_training_is_final(client: httpx.Client, emulator: EmulatorServer) -> None:
    model = _model(client, completed_dataset(client)["id"])
    url = f"{P}/models/{model['id']}"
    assert client.post(f"{url}/stop_training").status_code == 409  # not training
    client.post(f"{url}/start_training", json={})
    stopping = client.post(f"{url}/stop_training")
    assert stopping.status_code == 200 and stopping.json()["status"] == "Stopping"
    assert client.delete(url).status_code == 409
    emulator.advance(31)
    assert client.get(url).json()["status"] == "Stopped"
    emulator.advance(SIX_HOURS)
    assert client.get(url).json()["status"] == "Stopped"
    again = client.post(f"{url}/start_training", json={})
    assert again.status_code == 409 and "cannot be resumed" in again.json()["message"]
    assert client.post(f"{url}/stop_training").status_code == 409
    assert client.get(f"{url}/checkpoints").json() == "The model status is not completed"


def test_expert_parameters_and_errors(client: httpx.Client) -> None:
    ds = completed_dataset(client)
    auto = _model(client, ds["id"])
    refused = client.post(f"{P}/models/{auto['id']}/start_training", json={"rank": 64})
    assert refused.status_code == 400
    assert refused.json() == {
        "message": "Advanced training parameters are only supported when training_mode is set to 'expert'."
    }
    expert = _model(client, ds["id"], "expert")
    url = f"{P}/models/{expert['id']}/start_training"
    bad = client.post(url, json={"total_training_steps": 1000000})
    assert bad.status_code == 400
    assert bad.json() == {
        "errors": [
            {
                "msg": "Input should be less than or equal to 5000",
                "field_name": "total_training_steps",
                "field_input": "1000000",
            }
        ]
    }
    assert client.post(url, json={"lr_scheduler": "weird"}).status_code == 400
    assert client.post(url, json={"learning_rate": 0.5}).status_code == 400
    ok = client.post(url, json={"lr_scheduler": "cosine", "rank": 32})
    assert ok.status_code == 200
    assert ok.json()["training_parameters"] == {
        "learning_rate": 0.0001,
        "lr_scheduler": "cosine",
        "rank": 32,
        "total_training_steps": 750,
        "checkpoint_interval": 500,
        "lr_warmup_steps": None,
    }
    assert client.post(f"{P}/models/1/start_training", json={}).status_code == 404


def test_expert_checkpoints(client: httpx.Client, emulator: EmulatorServer) -> None:
    model = trained_model(client, emulator, "expert", {"total_training_steps": 1500})
    assert model["checkpoint_steps"] == ["1500", "1000", "500"] and model["active_model_version"] == "1500"
    url = f"{P}/models/{model['id']}/checkpoints"
    listed = client.get(url).json()
    assert [c["checkpoint_step"] for c in listed["checkpoints"]] == [500, 1000, 1500]
    assert listed["active_model_version"] == "1500"
    assert client.get(f"{url}/1000").json()["checkpoint_step"] == 1000
    assert client.get(f"{url}/42").json() == "Checkpoint not found"
    assert client.delete(f"{url}/1500").json() == "Cannot delete checkpoint currently selected for inference"
    assert client.delete(f"{url}/500").status_code == 204
    assert client.get(f"{P}/models/{model['id']}").json()["checkpoint_steps"] == ["1500", "1000"]
    assert client.get(f"{P}/models/1/checkpoints").json() == "Model not found"


def test_models_by_project_and_upload_model(client: httpx.Client) -> None:
    project = create_project(client)
    assert client.get(f"{P}/projects/{project['id']}/models").json() == []
    uploaded = client.post(
        f"{P}/models/upload_model",
        json={
            "model_url": "https://x.example/m.safetensors",
            "project_id": project["id"],
            "model_name": "mine",
        },
    )
    assert uploaded.status_code == 200 and uploaded.json()["status"] == "Completed"
    assert client.post(f"{P}/models/upload_model", json={"model_url": "https://x/m.bin"}).status_code == 415
    assert len(client.get(f"{P}/projects/{project['id']}/models").json()) == 1
