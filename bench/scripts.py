"""The hand-written scripts bria-flows is compared with (they use neither bria_api nor Prefect).

* ``raw_async_prepare``: asyncio + httpx sending exactly the calls ``prepare_dataset`` sends, in the same
  order, with the same bodies and the same upload concurrency: the floor the flow's overhead is measured on.
  It skips the flow's local work (lint, Pillow checks) on purpose: that work is part of the overhead.
* ``usual_sequential_prepare``: the loop users write. bria-client can only reach ``/v2`` (its engine
  prefixes every endpoint with ``/v2/``), and dataset management is ``/v1``, so it is raw sequential
  ``requests`` calls, one after the other, as in Bria's cookbook.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from pathlib import Path
from typing import Any

import httpx

from bria_api.manifest import build_manifest

TG = "/v1/tailored-gen"


def _sample_evenly(items: list, k: int) -> list:
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


async def raw_async_prepare(
    base_url: str,
    token: str,
    folder: Path,
    project_name: str,
    dataset_name: str,
    *,
    concurrency: int = 4,
    sample_size: int = 8,
    poll_seconds: float = 0.5,
) -> dict[str, Any]:
    """The flow's calls without the flow: find/create project and dataset, schema, list, upload, list,
    captions check, complete. Returns ids and the number of requests sent."""
    sent = 0
    # Same image names as the flow (content hash prefix), so the request bodies are the same size.
    manifest = build_manifest(folder)
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"api_token": token},
        timeout=120.0,
        limits=httpx.Limits(max_connections=64),
    ) as http:

        async def call(method: str, url: str, **kw: Any) -> Any:
            nonlocal sent
            sent += 1
            response = await http.request(method, url, **kw)
            response.raise_for_status()
            return response.json() if response.content else None

        projects = await call("GET", f"{TG}/projects")
        project = next((p for p in projects if p["project_name"] == project_name), None)
        if project is None:
            project = await call(
                "POST",
                f"{TG}/projects",
                json={"project_name": project_name, "ip_medium": "photography", "ip_type": "other"},
            )
        datasets = await call("GET", f"{TG}/projects/{project['id']}/datasets")
        dataset = next((d for d in datasets if d["name"] == dataset_name), None)
        if dataset is None:
            dataset = await call(
                "POST",
                f"{TG}/datasets",
                json={"project_id": project["id"], "name": dataset_name, "upload_type": "basic"},
            )
        ds_id = dataset["id"]
        if not dataset.get("visual_schema"):
            sample = [_b64(e.path) for e in _sample_evenly(manifest, sample_size)]
            schema = await call("POST", f"{TG}/generate_visual_schema", json={"images": sample})
            await call("PUT", f"{TG}/datasets/{ds_id}", json={"visual_schema": schema["visual_schema"]})
        present = {img.get("image_name") for img in await call("GET", f"{TG}/datasets/{ds_id}/images")}
        gate = asyncio.Semaphore(concurrency)

        async def upload(entry: Any) -> None:
            async with gate:
                body = {"file": _b64(entry.path), "image_name": entry.image_name, "increase_resolution": True}
                await call("POST", f"{TG}/datasets/{ds_id}/images", json=body)

        await asyncio.gather(*(upload(e) for e in manifest if e.image_name not in present))
        dataset = await call("GET", f"{TG}/datasets/{ds_id}")
        if any(not img.get("caption") for img in dataset.get("images") or []):
            await call("PUT", f"{TG}/datasets/{ds_id}/images")
            while (await call("GET", f"{TG}/datasets/{ds_id}"))["captions_update_status"] != "completed":
                await asyncio.sleep(poll_seconds)
        dataset = await call("GET", f"{TG}/datasets/{ds_id}", params={"max_images": 1})
        if dataset["status"] != "completed":
            await call("PUT", f"{TG}/datasets/{ds_id}", json={"status": "completed"})
    return {"dataset_id": ds_id, "requests": sent, "images": len(manifest)}


def usual_sequential_prepare(
    base_url: str,
    token: str,
    folder: Path,
    project_name: str,
    dataset_name: str,
    *,
    poll_seconds: float = 0.5,
) -> dict[str, Any]:
    """What a user writes: create, create, schema from a few images, then one upload after the other."""
    import requests

    headers = {"api_token": token}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    sent = 0

    def call(method: str, path: str, **kw: Any) -> Any:
        nonlocal sent
        sent += 1
        response = requests.request(method, base_url + path, headers=headers, timeout=120, **kw)
        response.raise_for_status()
        return response.json() if response.content else None

    project = call(
        "POST",
        f"{TG}/projects",
        json={"project_name": project_name, "ip_medium": "photography", "ip_type": "other"},
    )
    dataset = call("POST", f"{TG}/datasets", json={"project_id": project["id"], "name": dataset_name})
    ds_id = dataset["id"]
    schema = call("POST", f"{TG}/generate_visual_schema", json={"images": [_b64(p) for p in files[:8]]})
    call("PUT", f"{TG}/datasets/{ds_id}", json={"visual_schema": schema["visual_schema"]})
    for path in files:
        name = f"{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}_{path.name}"
        call("POST", f"{TG}/datasets/{ds_id}/images", json={"file": _b64(path), "image_name": name})
    dataset = call("GET", f"{TG}/datasets/{ds_id}")
    if any(not img.get("caption") for img in dataset.get("images") or []):
        call("PUT", f"{TG}/datasets/{ds_id}/images")
        while call("GET", f"{TG}/datasets/{ds_id}")["captions_update_status"] != "completed":
            time.sleep(poll_seconds)
    call("PUT", f"{TG}/datasets/{ds_id}", json={"status": "completed"})
    return {"dataset_id": ds_id, "requests": sent, "images": len(files)}
