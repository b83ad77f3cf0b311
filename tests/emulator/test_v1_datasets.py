"""v1 projects, datasets, images and captions: state rules and error bodies, over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from bria_emulator import EmulatorServer

from .conftest import b64, completed_dataset, create_dataset, create_project, png_bytes, upload

P = "/v1/tailored-gen"


def test_auth_401_bodies_per_family(emulator: EmulatorServer) -> None:
    v1 = httpx.get(f"{emulator.url}{P}/projects", headers={"api_token": "wrong"})
    assert v1.status_code == 401
    assert v1.json() == {"message": "Unauthorized: invalid or missing api_token"}
    v2 = httpx.post(f"{emulator.url}/v2/image/generate/lite", json={"prompt": "x"})
    assert v2.status_code == 401
    body = v2.json()
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["code"] == 401
    assert body["request_id"] == v2.headers["x-request-id"] and len(body["request_id"]) == 32


def test_project_lifecycle_and_validation(client: httpx.Client) -> None:
    project = create_project(
        client, ip_type="defined_character", ip_name="Lora", ip_description="purple hair"
    )
    assert isinstance(project["id"], int) and project["status"] == "active"
    assert project["training_version"] is None and project["created_at"].endswith("Z")
    assert client.get(f"{P}/projects").json()[0]["id"] == project["id"]
    updated = client.put(f"{P}/projects/{project['id']}", json={"ip_description": "a girl"}).json()
    assert updated["ip_description"] == "a girl" and updated["ip_type"] == "defined_character"
    cases = [
        {"ip_medium": "photography", "ip_type": "icons"},  # illustration-only type
        {"ip_medium": "photography", "ip_type": "defined_character", "ip_description": "x"},  # no ip_name
        {"ip_medium": "illustration", "ip_type": "object_variants"},  # no ip_description
        {"ip_medium": "oil", "ip_type": "other"},
    ]
    for case in cases:
        response = client.post(f"{P}/projects", json={"project_name": "x", **case})
        assert response.status_code == 400 and "message" in response.json(), case
    assert client.get(f"{P}/projects/999").status_code == 404
    assert client.get(f"{P}/projects/abc").json() == {"message": "Project not found"}
    assert client.delete(f"{P}/projects/{project['id']}").status_code == 204
    assert client.get(f"{P}/projects").json() == []


def test_dataset_completion_rules(client: httpx.Client) -> None:
    project = create_project(client)
    ds = create_dataset(client, project["id"])
    assert (ds["status"], ds["captions_update_status"], ds["visual_schema"]) == ("draft", "empty", None)
    url = f"{P}/datasets/{ds['id']}"
    upload(client, ds["id"], 4)
    assert client.put(url, json={"status": "completed"}).status_code == 409  # 4 images
    upload(client, ds["id"], 1, start=4)
    assert client.put(url, json={"status": "completed"}).status_code == 409  # no visual schema
    assert client.put(url, json={"visual_schema": "not json"}).status_code == 400
    done = client.put(
        url, json={"visual_schema": '{"style": "flat"}', "status": "Completed"}
    )  # case-insensitive
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert client.put(url, json={"visual_schema": "{}"}).status_code == 409
    assert client.post(f"{url}/images", json={"file": b64(png_bytes(512, 512))}).status_code == 409
    got = client.get(url, params={"max_images": 2}).json()
    assert got["images_count"] == 5 and len(got["images"]) == 2
    assert client.get(url, params={"max_images": 0}).status_code == 400
    listed = client.get(f"{P}/projects/{project['id']}/datasets", params={"include_models_ids": True}).json()
    assert listed[0]["images_count"] == 5 and listed[0]["model_ids"] == []


def test_image_upload_rules(client: httpx.Client, emulator: EmulatorServer) -> None:
    ds = create_dataset(client, create_project(client)["id"])
    url = f"{P}/datasets/{ds['id']}/images"
    assert client.post(url, json={"file": b64(b"not an image")}).status_code == 415
    assert client.post(url, json={"file": b64(png_bytes(300, 300, fmt="GIF"))}).status_code == 415
    assert client.post(url, json={"file": b64(png_bytes(200, 900))}).status_code == 412
    strict = {"file": b64(png_bytes(512, 512)), "increase_resolution": False}
    assert client.post(url, json=strict).status_code == 412
    assert client.post(url, json={}).status_code == 400
    assert client.post(url, json={"image_url": "https://example.com/a.png"}).status_code == 422
    first = client.post(url, json={"file": b64(png_bytes(512, 512, fmt="WEBP"))})
    assert first.status_code == 201
    image = first.json()
    assert (
        image["caption"] is None and image["caption_source"] is None and image["image_name"].endswith(".webp")
    )
    # image_url from loopback (the emulator's own file URL) is fetchable; duplicates are accepted but counted
    again = client.post(url, json={"image_url": image["image_url"]})
    assert again.status_code == 201
    assert httpx.get(image["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    stats = emulator.stats()["datasets"][str(ds["id"])]
    assert stats == {"images": 2, "duplicate_contents": 1, "bulk_attempts": 0}
    advanced = create_dataset(client, ds["project_id"], "advanced")
    assert (
        client.post(
            f"{P}/datasets/{advanced['id']}/images", json={"file": b64(png_bytes(512, 512))}
        ).status_code
        == 409
    )


def test_captions(client: httpx.Client, emulator: EmulatorServer) -> None:
    ds = create_dataset(client, create_project(client)["id"])
    image = upload(client, ds["id"])[0]
    url = f"{P}/datasets/{ds['id']}"
    assert client.put(f"{url}/images").status_code == 400  # no visual schema yet
    client.put(url, json={"visual_schema": '{"style": "flat"}'})
    captioned = upload(client, ds["id"], start=1)[0]
    assert (
        captioned["caption_source"] == "automatic" and json.loads(captioned["caption"])["short_description"]
    )
    started = client.put(f"{url}/images")
    assert started.status_code == 202 and started.json()["captions_update_status"] == "in_progress"
    emulator.advance(61)
    assert client.get(url).json()["captions_update_status"] == "completed"
    first = client.get(f"{url}/images/{image['id']}").json()
    assert first["caption_source"] == "automatic"
    item = f"{url}/images/{image['id']}"
    assert client.put(item, json={"caption": "{}", "regenerate_caption": True}).status_code == 400
    assert client.put(item, json={}).status_code == 400
    assert client.put(item, json={"caption": "plain text"}).status_code == 400
    manual = client.put(item, json={"caption": '{"subject": "owl"}'}).json()
    assert manual["caption_source"] == "manual"
    assert client.put(item, json={"regenerate_caption": True}).json()["caption_source"] == "automatic"
    assert client.delete(item).status_code == 204
    assert client.get(item).status_code == 404


def test_clone_download_and_delete(client: httpx.Client) -> None:
    ds = completed_dataset(client)
    clone = client.post(f"{P}/datasets/{ds['id']}/clone").json()
    assert clone["status"] == "draft" and clone["name"] == "Copy of ds"
    assert clone["visual_schema"] == ds["visual_schema"] and len(clone["images"]) == 5
    assert client.get(f"/v1/datasets/{ds['id']}/download").status_code == 409  # basic dataset
    assert client.get("/v1/datasets/1/download").status_code == 404
    assert client.delete(f"{P}/datasets/{clone['id']}").status_code == 204
    assert client.get(f"{P}/datasets/{clone['id']}").status_code == 404


def test_visual_schema_and_refine(client: httpx.Client) -> None:
    images = [b64(png_bytes(64, 64, (i * 30, 0, 0))) for i in range(5)]
    schema = client.post(f"{P}/generate_visual_schema", json={"images": images})
    assert schema.status_code == 200
    parsed = json.loads(schema.json()["visual_schema"])
    for key in (
        "short_description",
        "objects",
        "background_setting",
        "lighting",
        "aesthetics",
        "photographic_characteristics",
        "style_medium",
        "context",
        "artistic_style",
    ):
        assert key in parsed
    assert client.post(f"{P}/generate_visual_schema", json={"images": images[:4]}).status_code == 400
    assert client.post(f"{P}/generate_visual_schema", json={"images": [b64(b"x")] * 5}).status_code == 415
    ds = create_dataset(client, create_project(client)["id"])
    body = {
        "dataset_id": ds["id"],
        "structured_prompt": schema.json()["visual_schema"],
        "instruction": "sunny",
    }
    refined = client.post(f"{P}/refine_structured_prompt", json=body)
    assert (
        refined.status_code == 200
        and "sunny" in json.loads(refined.json()["structured_prompt"])["short_description"]
    )
    assert client.post(f"{P}/refine_structured_prompt", json={**body, "dataset_id": 1}).status_code == 404
    done = completed_dataset(client)
    assert (
        client.post(f"{P}/refine_structured_prompt", json={**body, "dataset_id": done["id"]}).status_code
        == 400
    )


@pytest.mark.parametrize("missing", ["project_id", "name"])
def test_create_dataset_requires_fields(client: httpx.Client, missing: str) -> None:
    body = {"project_id": create_project(client)["id"], "name": "d"}
    body.pop(missing)
    assert client.post(f"{P}/datasets", json=body).status_code == 400
