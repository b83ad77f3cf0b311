"""Webhook signing and verification (Bria's scheme, plus freshness and replay checks)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bria_api.errors import WebhookVerificationError
from bria_api.webhooks import WebhookReplayError, WebhookVerifier, sign

VECTOR_TOKEN = "contract-test-shared-token"
VECTOR_ID = "req_contract_test_001"
VECTOR_TS = "1700000000"
VECTOR_BODY = b'{"status":"COMPLETED","result":{"url":"https://cdn.bria.ai/final.png"},"request_id":"req_contract_test_001"}'
VECTOR_SIG = "v1=muClfnkuIXEqW69htILKVEwJdzC0LWB1tP53ptLm7SM="


def headers(webhook_id=VECTOR_ID, ts=VECTOR_TS, sig=VECTOR_SIG):
    return {"Bria-Webhook-Id": webhook_id, "Bria-Webhook-Timestamp": ts, "Bria-Webhook-Signature": sig}


def verifier(now: float = 1700000000.0, **kw) -> WebhookVerifier:
    return WebhookVerifier(VECTOR_TOKEN, clock=lambda: now, **kw)


def test_contract_vector_from_bria_sdk():
    assert sign(VECTOR_TOKEN, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    delivery = verifier().verify(headers(), VECTOR_BODY)
    assert delivery.webhook_id == VECTOR_ID and delivery.job.status == "COMPLETED"


def test_any_of_several_signatures_may_match():
    assert verifier().verify(headers(sig=f"v1=bogus, {VECTOR_SIG}"), VECTOR_BODY).timestamp == 1700000000


@pytest.mark.parametrize(
    "case,hdrs,body",
    [
        ("forged", headers(sig="v1=" + "A" * 44), VECTOR_BODY),
        ("wrong key", headers(sig=sign("another-token", VECTOR_ID, VECTOR_TS, VECTOR_BODY)), VECTOR_BODY),
        ("tampered body", headers(), VECTOR_BODY.replace(b"COMPLETED", b"ERROR")),
        ("tampered id", headers(webhook_id="req_other"), VECTOR_BODY),
        ("missing headers", {}, VECTOR_BODY),
        ("non-integer timestamp", headers(ts="soon"), VECTOR_BODY),
    ],
)
def test_bad_deliveries_are_rejected(case, hdrs, body):
    with pytest.raises(WebhookVerificationError):
        verifier().verify(hdrs, body)


def test_stale_and_future_deliveries_are_rejected():
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verifier(now=1700000000 + 301).verify(headers(), VECTOR_BODY)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verifier(now=1700000000 - 301).verify(headers(), VECTOR_BODY)


def test_replay_is_accepted_once():
    v = verifier()
    v.verify(headers(), VECTOR_BODY)
    with pytest.raises(WebhookReplayError):
        v.verify(headers(), VECTOR_BODY)


def test_oversized_body_is_rejected_before_hashing():
    big = json.dumps({"status": "COMPLETED", "pad": "x" * 2_000_000}).encode()
    with pytest.raises(WebhookVerificationError, match="body over"):
        verifier().verify(headers(sig=sign(VECTOR_TOKEN, VECTOR_ID, VECTOR_TS, big)), big)


@settings(max_examples=300, deadline=None)
@given(
    hdrs=st.dictionaries(
        st.sampled_from(["Bria-Webhook-Id", "Bria-Webhook-Timestamp", "Bria-Webhook-Signature", "X"]),
        st.text(max_size=80),
    ),
    body=st.binary(max_size=512),
)
def test_verifier_fuzz_never_crashes(hdrs, body):
    try:
        verifier().verify(hdrs, body)
    except WebhookVerificationError:
        pass
