"""A real delivery: our client submits with webhook_url; the emulator signs; Bria's SDK and we both accept it."""

from __future__ import annotations

import pytest
from bria_client.toolkit import verify_webhook_signature

from bria_api.models import GenerateLiteRequest
from bria_api.webhooks import WebhookReplayError, WebhookVerifier
from tests.conftest import TOKEN
from tests.emulator.receiver import webhook_receiver


async def test_one_delivery_accepted_by_both_verifiers_exactly_once(bria, emulator):
    with webhook_receiver() as receiver:
        accepted = await bria.generation.submit(
            GenerateLiteRequest(prompt="a mug", seed=9), webhook_url=receiver.url
        )
        emulator.advance(60)
        [delivery] = receiver.wait_for(1)
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert headers["bria-webhook-id"] == accepted.request_id
    assert verify_webhook_signature(
        delivery.body,
        headers["bria-webhook-id"],
        headers["bria-webhook-timestamp"],
        headers["bria-webhook-signature"],
        TOKEN,
    )
    ours = WebhookVerifier(TOKEN)
    verified = ours.verify(delivery.headers, delivery.body)
    assert verified.job.status == "COMPLETED" and verified.job.result.image_url
    with pytest.raises(WebhookReplayError):
        ours.verify(delivery.headers, delivery.body)
