"""Webhook signing (Bria's scheme and test vector) and signed delivery to a loopback receiver."""

from __future__ import annotations

import json
import time

import httpx

from bria_emulator import EmulatorServer
from bria_emulator.webhooks import sign, signing_key

from .receiver import webhook_receiver

VECTOR_BODY = (
    b'{"status":"COMPLETED","result":{"url":"https://cdn.bria.ai/final.png"},'
    b'"request_id":"req_contract_test_001"}'
)


def test_signature_matches_the_contract_test_vector() -> None:
    signature = sign("contract-test-shared-token", "req_contract_test_001", "1700000000", VECTOR_BODY)
    assert signature == "v1=muClfnkuIXEqW69htILKVEwJdzC0LWB1tP53ptLm7SM="
    assert len(signing_key("contract-test-shared-token")) == 32


def test_delivery_is_signed_and_retried(client: httpx.Client, emulator: EmulatorServer) -> None:
    with webhook_receiver(fail_first=1) as receiver:
        submitted = client.post(
            "/v2/image/generate/lite", json={"prompt": "hook", "webhook_url": receiver.url}
        )
        request_id = submitted.json()["request_id"]
        emulator.advance(30)
        delivery = receiver.wait_for(1)[0]
    assert receiver.statuses == [500, 200]  # one retry after a 5xx
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert headers["bria-webhook-id"] == request_id
    expected = sign(emulator.token, request_id, headers["bria-webhook-timestamp"], delivery.body)
    assert headers["bria-webhook-signature"] == expected
    payload = json.loads(delivery.body)
    assert payload["status"] == "COMPLETED" and payload["result"]["image_url"]
    assert payload == client.get(f"/v2/status/{request_id}").json()  # same body as the status service
    record = emulator.webhooks()[0]
    assert record["delivered"] and [a["status_code"] for a in record["attempts"]] == [500, 200]


def test_non_loopback_webhook_is_recorded_not_sent(client: httpx.Client, emulator: EmulatorServer) -> None:
    client.post("/v2/image/generate/lite", json={"prompt": "x", "webhook_url": "https://hooks.example.com/x"})
    emulator.advance(30)
    for _ in range(100):  # the delivery pump runs in the background every 0.1 s
        records = emulator.webhooks()
        if records:
            break
        time.sleep(0.02)
    assert records[0]["skipped"] and not records[0]["delivered"]
    assert (
        client.post("/v2/image/generate/lite", json={"prompt": "x", "webhook_url": "ftp://x"}).status_code
        == 400
    )
