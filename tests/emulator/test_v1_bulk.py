"""Bulk ZIP uploads (advanced datasets): lifecycle, one attempt only, in-memory guards; dataset download."""

from __future__ import annotations

import io
import zipfile

import httpx

from bria_emulator import EmulatorServer

from .conftest import create_dataset, create_project, png_bytes
from .receiver import static_server

P = "/v1/tailored-gen/datasets"


def _zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, b"/etc/passwd")
    return out.getvalue()


def _advanced(client: httpx.Client) -> dict:
    return create_dataset(client, create_project(client)["id"], "advanced")


def test_generated_set_lifecycle_and_single_attempt(client: httpx.Client, emulator: EmulatorServer) -> None:
    basic = create_dataset(client, create_project(client)["id"])
    assert (
        client.post(f"{P}/{basic['id']}/images/bulk-upload", json={"zip_url": "https://x/a.zip"}).status_code
        == 400
    )
    ds = _advanced(client)
    url = f"{P}/{ds['id']}/images/bulk-upload"
    assert client.get(f"{url}/status").status_code == 404
    assert client.post(url, json={"zip_url": "https://bucket.example.com/set.zip"}).status_code == 202
    assert client.get(f"{url}/status").json()["status"] == "pending"
    emulator.advance(10)
    processing = client.get(f"{url}/status").json()
    assert processing["status"] == "processing" and 0 < processing["progress_percentage"] < 100
    emulator.advance(120)
    done = client.get(f"{url}/status").json()
    assert (
        done["status"] == "completed"
        and done["failed"] == 0
        and done["done"] == done["total_processed"] >= 20
    )
    assert client.get(f"{P}/{ds['id']}").json()["images_count"] == done["done"]
    second = client.post(url, json={"zip_url": "https://bucket.example.com/set.zip"})
    assert second.status_code == 400 and "already" in second.json()["message"]
    assert emulator.stats()["datasets"][str(ds["id"])]["bulk_attempts"] == 2
    download = client.get(f"/v1/datasets/{ds['id']}/download").json()
    assert "captions_url" not in download  # no captions without a visual schema
    with zipfile.ZipFile(io.BytesIO(httpx.get(download["download_url"]).content)) as archive:
        assert len(archive.namelist()) == done["done"]


def test_zip_entries_are_checked_in_memory(client: httpx.Client, emulator: EmulatorServer) -> None:
    archive = _zip(
        {
            "a.png": png_bytes(1024, 1024),
            "dir/b.jpg": png_bytes(1024, 1100, fmt="JPEG"),
            "small.png": png_bytes(512, 512),
            "notes.txt": b"hello",
            "../evil.png": png_bytes(1024, 1024),
        },
        symlink="link.png",
    )
    ds = _advanced(client)
    with static_server({"/set.zip": archive}) as base:
        response = client.post(f"{P}/{ds['id']}/images/bulk-upload", json={"zip_url": f"{base}/set.zip"})
    assert response.status_code == 202
    emulator.advance(60)
    status = client.get(f"{P}/{ds['id']}/images/bulk-upload/status").json()
    assert (status["status"], status["done"], status["failed"]) == ("completed", 2, 4)
    codes = {f["filename"]: f["error_code"] for f in status["failed_images"]}
    assert codes == {"small.png": 412, "notes.txt": 415, "../evil.png": 400, "link.png": 400}


def test_zip_bomb_and_too_many_entries_fail_the_job(client: httpx.Client, emulator: EmulatorServer) -> None:
    bomb = _zip({"zeros.png": bytes(40 * 1024 * 1024)})
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(5001):
            archive.writestr(f"{i}.png", b"")
    for payload in (bomb, many.getvalue()):
        ds = _advanced(client)
        with static_server({"/x.zip": payload}) as base:
            assert (
                client.post(
                    f"{P}/{ds['id']}/images/bulk-upload", json={"zip_url": f"{base}/x.zip"}
                ).status_code
                == 202
            )
        emulator.advance(10)
        status = client.get(f"{P}/{ds['id']}/images/bulk-upload/status").json()
        assert status["status"] == "failed" and status["failed_images"][0]["filename"] == "(archive)"
        assert client.get(f"{P}/{ds['id']}").json()["images_count"] == 0
