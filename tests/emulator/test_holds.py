"""`hold` faults park a request at a chosen point until the test releases it: the crash injector's hook."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx

from bria_emulator import EmulatorServer

PROJECTS = "/v1/tailored-gen/projects"
NEW_PROJECT = {"project_name": "p", "ip_medium": "photography", "ip_type": "other"}


def _parked(emulator: EmulatorServer, n: int = 1, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while emulator.stats()["holds"]["waiting"] < n:
        assert time.monotonic() < deadline, "no request was parked"
        time.sleep(0.01)


def _raw_post(emulator: EmulatorServer, path: str, body: dict) -> socket.socket:
    """A client we can make vanish: a bare socket holding one request."""
    data = json.dumps(body).encode()
    sock = socket.create_connection((emulator.host, emulator.port))
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\napi_token: {emulator.token}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


def _projects(client: httpx.Client) -> int:
    return len(client.get(PROJECTS).json())


def test_request_hold_parks_before_the_handler_then_continues(client, emulator):
    emulator.set_faults({"rules": [{"op": "create-project", "kind": "hold", "times": 1}]})
    answer: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answer.append(client.post(PROJECTS, json=NEW_PROJECT)))
    worker.start()
    _parked(emulator)
    assert emulator.stats()["resources"]["projects"] == 0  # parked before the side effect
    assert emulator.release() == 1
    worker.join(10)
    assert answer[0].status_code == 201 and _projects(client) == 1


def test_request_hold_drops_the_request_of_a_client_that_left(client, emulator):
    emulator.set_faults({"rules": [{"op": "create-project", "kind": "hold"}]})
    sock = _raw_post(emulator, PROJECTS, NEW_PROJECT)
    _parked(emulator)
    sock.close()  # the client dies while its request is parked
    emulator.release()
    emulator.set_faults({})
    assert _projects(client) == 0  # never processed
    assert emulator.stats()["operations"]["create-project"]["by_status"] == {"dropped": 1}


def test_response_hold_commits_then_waits_before_answering(client, emulator):
    emulator.set_faults({"rules": [{"op": "create-project", "kind": "hold", "hold": "response"}]})
    sock = _raw_post(emulator, PROJECTS, NEW_PROJECT)
    _parked(emulator)
    assert emulator.stats()["resources"]["projects"] == 1  # committed, no answer yet
    sock.close()
    emulator.release()
    emulator.set_faults({})
    assert _projects(client) == 1
    assert emulator.stats()["operations"]["create-project"]["by_status"] == {"dropped": 1}


def test_next_hold_answers_then_parks_the_following_request(client, emulator):
    emulator.set_faults({"rules": [{"op": "create-project", "kind": "hold", "hold": "next", "times": 1}]})
    assert client.post(PROJECTS, json=NEW_PROJECT).status_code == 201  # answered in full
    assert emulator.stats()["holds"]["armed"] == 1
    answer: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answer.append(client.get(PROJECTS)))
    worker.start()
    _parked(emulator)
    emulator.release()
    worker.join(10)
    assert answer[0].status_code == 200 and len(answer[0].json()) == 1
    assert emulator.stats()["holds"] == {"waiting": 0, "total": 1, "armed": 0}


def test_unreleased_hold_ends_after_its_maximum(client, emulator):
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "hold", "hold_max_seconds": 0.2}]})
    assert client.get(PROJECTS).status_code == 200
