"""Rows 5, 8 and 9: the network misbehaves between the client and Bria (the chaos proxy, the emulator's drip).

Uploads go through ``reconcile.upload_missing``, the path the upload task takes, so a reset upload is settled
the way production settles it: list the dataset, resend only what is missing.
"""

from __future__ import annotations

import hashlib
import io
import random
import time

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from bria_api import BriaClient, BriaSettings, BriaTimeoutError
from bria_api.manifest import build_manifest
from bria_api.reconcile import upload_missing
from tests.conftest import TOKEN
from tests.reliability.chaos_proxy import ChaosProxy
from tests.reliability.figures import figure

MB = 1024 * 1024


def noise_png(seed: int, side: int = 1190) -> bytes:
    """A PNG of random pixels: incompressible, so about 4 MB on disk (about 5.4 MB as base64 JSON)."""
    raw = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), raw).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def folder_of(tmp_path, count: int):
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(count):
        (folder / f"big-{i}.png").write_bytes(noise_png(i))
    return folder


def default_timeouts(url: str, **update) -> BriaSettings:
    """The production timeouts (connect 10, read 60, write 120, deadline 180 s), pointed at ``url``."""
    return BriaSettings(api_token=SecretStr(TOKEN), base_url=url, requests_per_minute=60_000, **update)


async def new_dataset(url: str) -> int:
    async with BriaClient(default_timeouts(url)) as bria:
        project = await bria.projects.create("chaos", ip_medium="photography", ip_type="other")
        return (await bria.datasets.create(project.id, "chaos")).id


async def remote_contents(url: str, dataset_id: int) -> list[str]:
    """sha256 of every image the dataset holds, downloaded from the emulator."""
    async with BriaClient(default_timeouts(url)) as bria:
        images = await bria.images.list(dataset_id)
    return [hashlib.sha256(httpx.get(img.image_url).content).hexdigest() for img in images]


def wire_size(path) -> int:
    """Bytes of the upload body of one file: its base64 plus a little JSON."""
    return (path.stat().st_size + 2) // 3 * 4


async def test_row5_connection_reset_mid_upload_leaves_no_duplicate_and_no_partial_image(emulator, tmp_path):
    """Row 5: RST after 2 MB of a 4 MB image's upload, on two connections; the dataset ends exact."""
    manifest = build_manifest(folder_of(tmp_path, 3))
    dataset_id = await new_dataset(emulator.url)
    proxy = ChaosProxy("127.0.0.1", emulator.port, reset_after=2 * MB, reset_connections=2)
    with proxy:
        async with BriaClient(default_timeouts(proxy.url, max_retries=2)) as bria:
            summary = await upload_missing(bria, dataset_id, manifest, concurrency=3)
    contents = await remote_contents(emulator.url, dataset_id)
    stats = emulator.stats()
    ideal = sum(wire_size(e.path) for e in manifest)
    uploads = stats["operations"]["upload-image"]
    partial = [c for c in contents if c not in {e.sha256 for e in manifest}]
    duplicates = stats["datasets"][str(dataset_id)]["duplicate_contents"] + len(contents) - len(set(contents))
    figure(
        5,
        f"{proxy.stats.resets} resets mid-upload; {len(contents)}/{len(manifest)} images, duplicates {duplicates}, "
        f"partial images {len(partial)}; upload requests by outcome {uploads['by_status']}; "
        f"bytes-sent amplification {proxy.stats.bytes_up / ideal:.2f}",
    )
    assert proxy.stats.resets == 2
    assert sorted(contents) == sorted(e.sha256 for e in manifest) and not partial and duplicates == 0
    committed = sum(n for code, n in uploads["by_status"].items() if code.startswith("2"))
    assert uploads["requests"] == 5 and committed == 3  # the two cut bodies committed nothing
    assert sorted(summary.uploaded) == sorted(e.image_name for e in manifest)


async def test_row8_slow_loris_answers_cannot_outlive_the_deadline(emulator, settings):
    """Row 8: bodies dripped by the emulator (1 B / 0.3 s) or sliced by the proxy: each call ends by the deadline."""
    deadline = 1.0
    tight = settings.model_copy(update={"request_deadline": deadline, "read_timeout": 5.0, "max_retries": 0})
    async with BriaClient(tight) as bria:
        project = await bria.projects.create("loris", ip_medium="photography", ip_type="other")
    walls: dict[str, float] = {}
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "drip", "interval_ms": 300}]})
    async with BriaClient(tight) as bria:
        started = time.monotonic()
        with pytest.raises(BriaTimeoutError, match="deadline"):
            await bria.projects.list()
        walls["emulator drip"] = time.monotonic() - started
    emulator.set_faults({})
    with ChaosProxy("127.0.0.1", emulator.port, slice_bytes=1, slice_delay=0.3) as proxy:
        async with BriaClient(tight.model_copy(update={"base_url": proxy.url})) as bria:
            for name, call in (("proxy slicer, list", bria.projects.list), ("proxy slicer, get", None)):
                started = time.monotonic()
                with pytest.raises(BriaTimeoutError, match="deadline"):
                    await (call() if call else bria.projects.get(project.id))
                walls[name] = time.monotonic() - started
    worst = max(walls.values())
    figure(
        8,
        f"max wall {worst:.2f}s for a {deadline:g}s deadline ({', '.join(f'{k} {v:.2f}s' for k, v in walls.items())})",
    )
    assert worst <= deadline + 1.0


@pytest.mark.slow  # one 4 MB upload at 256 KB/s is ~20 s by design
async def test_row9_latency_spikes_and_a_thin_pipe_complete_without_spurious_timeouts(emulator, tmp_path):
    """Row 9: +2 s ± 1 s per message and 256 KB/s each way; a 4 MB upload and the calls around it complete."""
    manifest = build_manifest(folder_of(tmp_path, 1))
    dataset_id = await new_dataset(emulator.url)
    bandwidth, latency = 256 * 1024, 2.0
    proxy = ChaosProxy("127.0.0.1", emulator.port, latency=latency, jitter=1.0, bandwidth=bandwidth, seed=9)
    timeouts: list[BaseException] = []
    with proxy:
        async with BriaClient(default_timeouts(proxy.url)) as bria:
            started = time.monotonic()
            try:
                summary = await upload_missing(bria, dataset_id, manifest)
                [image] = await bria.images.list(dataset_id)
            except BriaTimeoutError as exc:  # pragma: no cover - the failure this row measures
                timeouts.append(exc)
                raise
            finally:
                wall = time.monotonic() - started
    ops = emulator.stats()["operations"]
    attempts = {op: ops[op]["requests"] for op in ("get-images", "upload-image")}
    ideal = (proxy.stats.bytes_up + proxy.stats.bytes_down) / bandwidth
    figure(
        9,
        f"4 MB upload completed {len(summary.uploaded)}/1; spurious timeouts {len(timeouts)}; attempts {attempts}; "
        f"wall {wall:.1f}s vs {ideal:.1f}s of pure transfer at 256 KB/s plus ~{latency:g}s per message",
    )
    assert image.image_name == manifest[0].image_name and not timeouts
    assert attempts == {"get-images": 2, "upload-image": 1}  # nothing was retried
