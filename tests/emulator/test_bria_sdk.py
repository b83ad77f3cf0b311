"""Bria's own SDK (bria-client 0.3.1) cannot tell the emulator from Bria: submit -> poll -> download; webhooks."""

from __future__ import annotations

import io

import httpx
from bria_client.clients.sync_client import BriaSyncClient
from bria_client.toolkit import verify_webhook_signature
from PIL import Image

from bria_emulator import EmulatorServer

from .receiver import webhook_receiver


def test_submit_poll_lite_generation(emulator: EmulatorServer) -> None:
    with BriaSyncClient(base_url=emulator.url, api_token=emulator.token) as bria:
        submitted = bria.submit(
            "image/generate/lite", {"prompt": "a lighthouse at dusk", "aspect_ratio": "4:3"}
        )
        assert submitted.status == "IN_PROGRESS" and submitted.status_url
        emulator.advance(30)  # no real waiting: the job's emulated 10 s have passed
        final = bria.poll(submitted, interval=0.05, timeout=5)
    assert final.status == "COMPLETED" and final.request_id == submitted.request_id
    assert final.result is not None
    image = Image.open(io.BytesIO(httpx.get(final.result.image_url).content))
    assert image.format == "PNG" and image.size == (1152, 896)


def test_sdk_sees_errors_as_bria_errors(emulator: EmulatorServer) -> None:
    with BriaSyncClient(base_url=emulator.url, api_token="wrong-token") as bria:
        response = bria.run("image/generate/lite", {"prompt": "x"})
    assert response.status == "ERROR" and response.error is not None and response.error.code == 401
    with BriaSyncClient(base_url=emulator.url, api_token=emulator.token) as bria:
        sync = bria.run("image/generate/lite", {"prompt": "x", "seed": 1})
    assert sync.status == "COMPLETED" and sync.result.seed == 1


def test_sdk_verifies_emulator_webhook(emulator: EmulatorServer) -> None:
    with (
        webhook_receiver() as receiver,
        BriaSyncClient(base_url=emulator.url, api_token=emulator.token) as bria,
    ):
        bria.submit("image/generate/lite", {"prompt": "hooked"}, webhook_url=receiver.url)
        emulator.advance(30)
        delivery = receiver.wait_for(1)[0]
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert verify_webhook_signature(
        delivery.body,
        headers["bria-webhook-id"],
        headers["bria-webhook-timestamp"],
        headers["bria-webhook-signature"],
        emulator.token,
    )
    assert not verify_webhook_signature(
        delivery.body,
        headers["bria-webhook-id"],
        headers["bria-webhook-timestamp"],
        headers["bria-webhook-signature"],
        "another-token",
    )
