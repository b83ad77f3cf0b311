"""The webhook receiver over real HTTP: the emulator delivers, the receiver verifies and emits a Prefect event."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from bria_api import BriaClient
from bria_api.models import GenerateLiteRequest
from bria_api.webhooks import WebhookVerifier, sign
from deployments.webhooks import WEBHOOK_PATH, create_receiver_app
from tests.flows.conftest import TOKEN
from tests.flows.events import events_about


@contextlib.contextmanager
def serve_in_thread(app):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture
def receiver():
    with serve_in_thread(create_receiver_app(WebhookVerifier(TOKEN))) as url:
        yield url + WEBHOOK_PATH


async def test_emulator_delivery_becomes_one_prefect_event(bria_env, receiver):
    async with BriaClient() as bria:
        accepted = await bria.generation.submit(
            GenerateLiteRequest(prompt="a mug", seed=4), webhook_url=receiver
        )
    bria_env.advance(60)
    events = await events_about(f"bria.job.{accepted.request_id}", {"bria.job.completed"})
    completed = [e for e in events if e.event == "bria.job.completed"]
    assert len(completed) == 1 and completed[0].payload["result"]["image_url"]
    [delivery] = [d for d in bria_env.webhooks() if d["request_id"] == accepted.request_id]
    assert delivery["delivered"] and [a["status_code"] for a in delivery["attempts"]] == [204]


def _post(
    url: str, body: bytes, *, token: str = TOKEN, webhook_id: str = "req_1", ts: int | None = None, sig=None
):
    ts = int(time.time()) if ts is None else ts
    headers = {
        "Bria-Webhook-Id": webhook_id,
        "Bria-Webhook-Timestamp": str(ts),
        "Bria-Webhook-Signature": sig or sign(token, webhook_id, str(ts), body),
        "Content-Type": "application/json",
    }
    return httpx.post(url, content=body, headers=headers)


def test_bad_deliveries_are_refused_and_replays_acknowledged(bria_env, receiver):
    body = b'{"status":"COMPLETED","request_id":"req_1","result":{"image_url":"http://x/y.png"}}'
    assert _post(receiver, body, token="wrong-key").status_code == 401
    assert _post(receiver, body, sig="v1=" + "A" * 44).status_code == 401
    assert _post(receiver, body, ts=int(time.time()) - 3600).status_code == 401  # stale
    tampered = _post(receiver, body, sig=sign(TOKEN, "req_1", str(int(time.time())), body + b" "))
    assert tampered.status_code == 401
    assert _post(receiver, b"x" * (2 * 1024 * 1024)).status_code == 413
    assert _post(receiver, body).status_code == 204
    assert _post(receiver, body).status_code == 200  # the same id again: acknowledged, not re-emitted
