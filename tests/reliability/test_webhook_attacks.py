"""Row 28: forged, wrong-key, stale, future, replayed, tampered and oversized webhooks are refused by the real
receiver over HTTP; each valid delivery (signed here, or sent by the emulator as Bria would) becomes exactly
one event; the verifier survives fuzzing with nothing but typed rejections.

The receiver's ``emit`` hook records events instead of posting them to Prefect (tests/flows covers that path),
so "exactly once" is counted exactly.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bria_api.errors import WebhookVerificationError
from bria_api.models import GenerateLiteRequest
from bria_api.webhooks import WebhookVerifier, sign
from deployments.webhooks import WEBHOOK_PATH, create_receiver_app
from tests.conftest import TOKEN
from tests.reliability.figures import figure


class Recorder:
    """Stands in for Prefect's emit_event: counts events per webhook id, wakes a waiter at a target count."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self.reached = threading.Event()
        self.target = 0

    def __call__(self, event: str, resource: dict[str, str], payload: dict) -> None:
        with self._lock:
            self.events.append({"event": event, **payload})
            if len(self.events) >= self.target:
                self.reached.set()


@contextlib.contextmanager
def receiver(recorder: Recorder) -> Iterator[str]:
    app = create_receiver_app(WebhookVerifier(TOKEN, tolerance_seconds=300), emit=recorder)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}"
    finally:
        server.should_exit = True
        thread.join(5)


def body_of(request_id: str, status: str = "COMPLETED") -> bytes:
    return json.dumps(
        {"status": status, "request_id": request_id, "result": {"image_url": f"http://x/{request_id}.png"}}
    ).encode()


def headers(webhook_id: str, body: bytes, *, ts: int | None = None, key: str = TOKEN, sig: str | None = None):
    ts = int(time.time()) if ts is None else ts
    return {
        "Bria-Webhook-Id": webhook_id,
        "Bria-Webhook-Timestamp": str(ts),
        "Bria-Webhook-Signature": sig or sign(key, webhook_id, str(ts), body),
        "Content-Type": "application/json",
    }


def _bad_deliveries() -> dict[str, tuple[dict, bytes, int]]:
    """case -> (headers, body, expected status)."""
    now, body = int(time.time()), body_of("req_bad")
    big = json.dumps({"status": "COMPLETED", "pad": "x" * (2 * 1024 * 1024)}).encode()
    return {
        "forged signature": (headers("req_bad", body, sig="v1=" + "A" * 44), body, 401),
        "wrong key": (headers("req_bad", body, key="someone-else's-token"), body, 401),
        "stale (1 h old)": (headers("req_bad", body, ts=now - 3600), body, 401),
        "future (1 h ahead)": (headers("req_bad", body, ts=now + 3600), body, 401),
        "tampered body": (headers("req_bad", body), body.replace(b"COMPLETED", b"ERROR"), 401),
        "tampered id": ({**headers("req_bad", body), "Bria-Webhook-Id": "req_other"}, body, 401),
        "tampered timestamp": (
            {**headers("req_bad", body, ts=now), "Bria-Webhook-Timestamp": str(now + 1)},
            body,
            401,
        ),
        "signature of an empty body": (headers("req_bad", b""), body, 401),
        "missing signature": (
            {k: v for k, v in headers("req_bad", body).items() if "Signature" not in k},
            body,
            401,
        ),
        "missing id": (
            {k: v for k, v in headers("req_bad", body).items() if k != "Bria-Webhook-Id"},
            body,
            401,
        ),
        "not a job status, signed": (headers("req_bad", b"[1, 2, 3]"), b"[1, 2, 3]", 401),
        "oversized (2 MB)": (headers("req_big", big), big, 413),
    }


async def test_row28_receiver_refuses_every_bad_delivery_and_accepts_each_valid_one_once(bria, emulator):
    """Row 28 over HTTP: 12 kinds of bad delivery refused; 20 signed + 3 emulator deliveries, each sent or
    replayed 3 times, become exactly one event each."""
    recorder = Recorder()
    valid_ids = [f"req_valid_{i}" for i in range(20)]
    recorder.target = len(valid_ids) + 3
    with receiver(recorder) as url:
        bad = {
            case: httpx.post(url, content=b, headers=h).status_code
            for case, (h, b, _) in _bad_deliveries().items()
        }
        chunked = httpx.post(
            url, content=iter([b"{" * 700_000, b"}" * 700_000]), headers=headers("req_c", b"{}")
        )
        bad["oversized, no Content-Length (chunked)"] = chunked.status_code
        replies = Counter()
        for webhook_id in valid_ids:
            body = body_of(webhook_id)
            signed = headers(webhook_id, body)
            for _ in range(3):  # Bria redelivers until it sees a 2xx; an attacker replays
                replies[httpx.post(url, content=body, headers=signed).status_code] += 1
        jobs = [
            (
                await bria.generation.submit(GenerateLiteRequest(prompt=f"mug {i}", seed=i), webhook_url=url)
            ).request_id
            for i in range(3)
        ]
        emulator.advance(60)  # the jobs finish; the emulator signs and delivers each
        assert recorder.reached.wait(15), recorder.events
    expected = {case: status for case, (_, _, status) in _bad_deliveries().items()} | {
        "oversized, no Content-Length (chunked)": 413
    }
    per_id = Counter(e["request_id"] for e in recorder.events)
    refused = sum(bad[c] == expected[c] for c in expected)
    figure(
        28,
        f"bad deliveries refused {refused}/{len(expected)} ({dict(Counter(bad.values()))}); valid accepted "
        f"{len(per_id)}/{len(valid_ids) + len(jobs)}, each exactly once (max {max(per_id.values())} events per id); "
        f"replies to 60 signed sends {dict(replies)}",
    )
    assert bad == expected
    assert replies == {204: 20, 200: 40}  # first accepted, replays acknowledged but not re-emitted
    assert set(per_id) == set(valid_ids) | set(jobs) and set(per_id.values()) == {1}


VALID_ID, NOW = "req_fuzz", 1_700_000_000
VALID_BODY = body_of(VALID_ID)
VALID_HEADERS = {k: v for k, v in headers(VALID_ID, VALID_BODY, ts=NOW).items() if k != "Content-Type"}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    """A valid delivery with one thing changed: a body byte, a header value, or a header dropped."""
    hdrs, body = dict(VALID_HEADERS), VALID_BODY
    target = draw(st.sampled_from(["body", "drop", *hdrs]))
    if target == "body":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    elif target == "drop":
        hdrs.pop(draw(st.sampled_from(sorted(hdrs))))
    else:  # a new value (whitespace around a signature is the same signature: not a mutation)
        hdrs[target] = draw(st.text(max_size=60).filter(lambda v, old=hdrs[target]: v.strip() != old))
    return hdrs, body


_FUZZ = Counter[str]()


@settings(
    max_examples=1000, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(
    st.one_of(
        mutated(),
        st.tuples(
            st.dictionaries(st.sampled_from(list(VALID_HEADERS)), st.text(max_size=80)),
            st.binary(max_size=300),
        ),
    )
)
def test_row28_fuzzed_deliveries_only_ever_get_typed_rejections(case):
    """Row 28: 1000 mutated or random deliveries against the verifier: each refused with a typed error."""
    hdrs, body = case
    verifier = WebhookVerifier(TOKEN, clock=lambda: NOW)
    try:
        verifier.verify(hdrs, body)
    except WebhookVerificationError as exc:
        _FUZZ[type(exc).__name__] += 1
        return
    raise AssertionError(f"accepted a mutated delivery: {hdrs} {body[:80]!r}")


def test_row28_fuzz_figure():
    """The verifier still accepts the untouched delivery (the fuzz above is not refusing everything blindly)."""
    assert WebhookVerifier(TOKEN, clock=lambda: NOW).verify(VALID_HEADERS, VALID_BODY).webhook_id == VALID_ID
    figure(
        28,
        f"fuzz: {sum(_FUZZ.values())} mutated/random deliveries -> {dict(_FUZZ)}; crashes 0; "
        "the untouched delivery is accepted",
    )
