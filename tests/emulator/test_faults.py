"""Every fault kind is observable from a plain HTTP client."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bria_emulator import EmulatorServer

from .conftest import SIX_HOURS, completed_dataset

PROJECTS = "/v1/tailored-gen/projects"
NEW_PROJECT = {"project_name": "p", "ip_medium": "photography", "ip_type": "other"}
CONNECTION_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)


def _rule(emulator: EmulatorServer, **rule: object) -> None:
    emulator.set_faults({"seed": 1, "rules": [rule]})


def _projects(client: httpx.Client) -> int:
    return len(client.get(PROJECTS).json())


def test_commit_then_drop_commits_but_client_sees_no_response(
    client: httpx.Client, emulator: EmulatorServer
) -> None:
    _rule(emulator, op="create-project", kind="commit_then_drop", times=1)
    with pytest.raises(CONNECTION_ERRORS):
        client.post(PROJECTS, json=NEW_PROJECT)
    assert _projects(client) == 1  # the side effect happened
    stats = emulator.stats()
    assert stats["operations"]["create-project"]["by_status"] == {"dropped": 1}
    assert stats["faults_fired"] == {"commit_then_drop": 1} and stats["resources"]["projects"] == 1


def test_reset_commits_nothing(client: httpx.Client, emulator: EmulatorServer) -> None:
    _rule(emulator, op="create-project", kind="reset")
    with pytest.raises(CONNECTION_ERRORS):
        client.post(PROJECTS, json=NEW_PROJECT)
    emulator.set_faults({})
    assert _projects(client) == 0


def test_status_faults_per_family(client: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.set_faults(
        {
            "rules": [
                {"op": "get-projects", "kind": "status", "code": 503, "retry_after": 7, "times": 1},
                {"op": "image-generate-lite", "kind": "status", "code": 500},
                {"op": "get-datasets", "kind": "status", "code": 403},
                {"op": "create-project", "kind": "status", "code": 502, "commit": True},
            ]
        }
    )
    v1 = client.get(PROJECTS)
    assert (
        v1.status_code == 503
        and v1.headers["retry-after"] == "7"
        and v1.json() == {"message": "Service Unavailable"}
    )
    assert client.get(PROJECTS).status_code == 200  # times=1
    v2 = client.post("/v2/image/generate/lite", json={"prompt": "x"})
    assert v2.status_code == 500 and v2.json()["error"]["code"] == 500 and v2.json()["request_id"]
    assert client.get("/v1/tailored-gen/datasets").json().startswith("Quota exceeded")  # bare JSON string
    assert client.post(PROJECTS, json=NEW_PROJECT).status_code == 502
    assert _projects(client) == 1  # commit=true: the 502 came after the side effect


def test_after_and_probability_are_seeded(client: httpx.Client, emulator: EmulatorServer) -> None:
    def pattern() -> list[int]:
        emulator.set_faults(
            {
                "seed": 3,
                "rules": [
                    {"op": "get-projects", "kind": "status", "code": 500, "after": 2, "probability": 0.5}
                ],
            }
        )
        return [client.get(PROJECTS).status_code for _ in range(12)]

    first = pattern()
    assert first[:2] == [200, 200] and 500 in first[2:] and 200 in first[2:]
    assert pattern() == first


def test_latency_and_delay_headers(client: httpx.Client, emulator: EmulatorServer) -> None:
    _rule(emulator, op="get-projects", kind="latency", delay_ms=250)
    started = time.monotonic()
    assert client.get(PROJECTS).status_code == 200
    assert time.monotonic() - started >= 0.25
    _rule(emulator, op="create-project", kind="delay_headers", delay_ms=1500, times=1)
    with pytest.raises(httpx.ReadTimeout):
        client.post(PROJECTS, json=NEW_PROJECT, timeout=httpx.Timeout(5.0, read=0.3))
    assert _projects(client) == 1  # committed before the delay


def test_drip_sends_one_byte_at_a_time(client: httpx.Client, emulator: EmulatorServer) -> None:
    _rule(emulator, op="get_status", kind="drip", interval_ms=20)
    started = time.monotonic()
    # A per-read timeout (0.15 s) never fires although the whole body takes > 0.4 s: why clients need a deadline.
    with client.stream("GET", "/v2/status/nope", timeout=httpx.Timeout(5.0, read=0.15)) as response:
        chunks = list(response.iter_raw())
    body = b"".join(chunks)
    assert response.status_code == 404 and json.loads(body) == {"status": "NOT_FOUND"}
    assert len(chunks) > 5 and time.monotonic() - started >= 0.02 * (len(body) - 1)


def test_truncate_html_extra_fields(client: httpx.Client, emulator: EmulatorServer) -> None:
    client.post(PROJECTS, json=NEW_PROJECT)
    full = client.get(PROJECTS).content
    _rule(emulator, op="get-projects", kind="truncate", times=1)
    cut = client.get(PROJECTS)
    assert cut.status_code == 200 and cut.content == full[: len(full) // 2]
    with pytest.raises(json.JSONDecodeError):
        cut.json()
    _rule(emulator, op="get-projects", kind="html", times=1)
    page = client.get(PROJECTS)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    _rule(emulator, op="get-projects", kind="extra_fields", fields={"surprise": 1})
    assert client.get(PROJECTS).json()[0]["surprise"] == 1


def test_schema_drift_and_model_status_script(client: httpx.Client, emulator: EmulatorServer) -> None:
    ds = completed_dataset(client)
    model = client.post("/v1/tailored-gen/models", json={"name": "m", "dataset_id": ds["id"]}).json()
    url = f"/v1/tailored-gen/models/{model['id']}"
    client.post(f"{url}/start_training", json={})
    _rule(emulator, op="get-model", kind="schema_drift", status_value="Queued", times=1)
    assert client.get(url).json()["status"] == "Queued"
    emulator.set_faults({"model_status_script": {"*": ["InProgress", "InProgress", "Failed"]}})
    assert [client.get(url).json()["status"] for _ in range(4)] == [
        "InProgress",
        "InProgress",
        "Failed",
        "Failed",
    ]
    emulator.advance(SIX_HOURS)
    assert client.get(url).json()["status"] == "Failed"  # the script owns the model now
    assert client.post(f"{url}/stop_training").status_code == 409


def test_rpm_cap_alternates_retry_after(client: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rpm_cap": 3})
    assert [client.get(PROJECTS).status_code for _ in range(3)] == [200, 200, 200]
    first, second = client.get(PROJECTS), client.get(PROJECTS)
    assert first.status_code == second.status_code == 429
    assert 1 <= int(first.headers["retry-after"]) <= 60 and "retry-after" not in second.headers
    v2 = client.get("/v2/status/unknown")
    assert v2.status_code == 429 and v2.json()["error"]["code"] == 429
    assert emulator.stats()["faults_fired"]["rpm_cap"] == 3


def test_rpm_cap_counts_over_a_configurable_window(client: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rpm_cap": 2, "rpm_window_seconds": 0.4})
    assert [client.get(PROJECTS).status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.45)  # the window is real time by design (Bria's minute), not emulated time
    assert client.get(PROJECTS).status_code == 200


def test_revoke_token_after(client: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"revoke_token_after": 2})
    assert [client.get(PROJECTS).status_code for _ in range(4)] == [200, 200, 401, 401]
    assert client.get("/v2/status/x").status_code == 401


def test_down_for_seconds_then_recovers(client: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"down_for_seconds": 0.3})
    with pytest.raises(CONNECTION_ERRORS):
        client.get(PROJECTS)
    assert emulator.stats()["faults_fired"]["down"] == 1  # admin routes are never faulted
    time.sleep(0.35)  # down_for is real time by design (an outage), not emulated time
    assert client.get(PROJECTS).status_code == 200


def test_max_concurrent_jobs_and_job_error(client: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.set_faults(
        {
            "max_concurrent_jobs": 1,
            "rules": [{"op": "image-generate-lite", "kind": "job_error", "after": 1, "code": 500}],
        }
    )
    first = client.post("/v2/image/generate/lite", json={"prompt": "a"})
    assert first.status_code == 202
    capped = client.post("/v2/image/generate/lite", json={"prompt": "b"})
    assert capped.status_code == 429 and capped.json()["error"]["code"] == 429
    emulator.advance(30)
    failing = client.post("/v2/image/generate/lite", json={"prompt": "c"})
    assert failing.status_code == 202
    emulator.advance(30)
    status = client.get(f"/v2/status/{failing.json()['request_id']}")
    assert status.status_code == 200
    assert status.json()["status"] == "ERROR" and set(status.json()["error"]) == {
        "code",
        "message",
        "details",
    }


def test_global_latency_and_profile_round_trip(client: httpx.Client, emulator: EmulatorServer) -> None:
    profile = {"seed": 9, "latency_ms": 120, "rules": [{"op": "get-*", "kind": "extra_fields"}]}
    emulator.set_faults(profile)
    assert emulator.faults()["latency_ms"] == 120 and emulator.faults()["rules"][0]["op"] == "get-*"
    started = time.monotonic()
    client.get(PROJECTS)
    assert time.monotonic() - started >= 0.12
    bad = httpx.post(f"{emulator.url}/_emulator/faults", json={"rules": [{"kind": "nope"}]})
    assert bad.status_code == 400
