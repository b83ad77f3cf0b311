"""The real `inferencesh` SDK (0.36, from PyPI) against the emulated inference.sh API.

Stream, wait, `wait=False` + webhook, failure, rejection and cancel, end to end over loopback HTTP. The
emulator's clock runs 3600x, so an 8 s task ends in milliseconds; the stream still replays every status.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from bria_emulator import EmulatorConfig, EmulatorServer

inferencesh = pytest.importorskip("inferencesh")
from inferencesh import APIError, TaskStatus, inference  # noqa: E402

KEY = "inf-test-key-5be1"
APP = "bria/generate-lite"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        api_token="bria-token-x", inference_api_key=KEY, time_scale=3600, generation_seconds=8
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def client(emu):
    emu.reset()
    return inference(api_key=KEY, base_url=emu.inferencesh_url)


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, queue.Queue]]:
    received: queue.Queue = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_stream_yields_every_status_then_the_output_and_uploads_local_files(client, emu, tmp_path):
    reference = tmp_path / "ref.png"
    Image.new("RGB", (512, 512), (10, 120, 200)).save(reference)
    updates = list(
        client.run(
            {
                "app": APP,
                "input": {"prompt": "a red bicycle", "images": [str(reference)], "seed": 7, "steps_num": 4},
            },
            stream=True,
        )
    )
    statuses = [u["status"] for u in updates]
    assert statuses[0] == TaskStatus.RECEIVED and statuses[-1] == TaskStatus.COMPLETED == 10
    assert (
        statuses == sorted(statuses) and TaskStatus.RUNNING in statuses and TaskStatus.UPLOADING in statuses
    )
    assert len(updates[-1]["logs"]) == 5  # "loading" + one line per step
    [image] = updates[-1]["output"]["images"]
    assert updates[-1]["output"]["seed"] == 7
    assert Image.open(io.BytesIO(httpx.get(image["uri"]).content)).size == (1024, 1024)
    [task] = emu.inferencesh_tasks()
    uploaded = task["input"]["images"][0]  # the SDK uploaded the path and sent the file's URI instead
    assert uploaded.startswith(emu.url) and httpx.get(uploaded).content == reference.read_bytes()


def test_urls_pass_through_and_run_waits_for_the_result(client, emu):
    source = client.run({"app": APP, "input": {"prompt": "a mug", "seed": 1}})
    url = source["output"]["images"][0]["uri"]
    result = client.run({"app": APP, "input": {"prompt": "a mug at night", "images": [url], "seed": 2}})
    assert result["status"] == TaskStatus.COMPLETED and result["output"]["images"]
    assert emu.inferencesh_tasks()[1]["input"]["images"] == [url]  # not re-uploaded


def test_wait_false_returns_at_once_and_the_webhook_reports_the_terminal_state(client, emu):
    with webhook_receiver() as (url, received):
        task = client.run({"app": APP, "input": {"prompt": "a lamp"}, "webhook": url}, wait=False)
        assert task["status"] == TaskStatus.RECEIVED and task["output"] is None
        body = received.get(timeout=10)
    assert set(body) == {"id", "status", "output", "error", "session_id", "created_at", "updated_at"}
    assert body["id"] == task["id"] and body["status"] == 10 and body["error"] == ""
    assert body["output"]["images"][0]["uri"].startswith(emu.url)


def test_failed_task_raises_the_platform_message_on_stream_wait_and_webhook(client, emu):
    emu.inferencesh_outcomes([{"status": "failed", "error": "CUDA out of memory"}] * 2)
    with pytest.raises(RuntimeError, match="CUDA out of memory"):
        list(client.run({"app": APP, "input": {"prompt": "a"}}, stream=True))
    with webhook_receiver() as (url, received):
        with pytest.raises(RuntimeError, match="CUDA out of memory"):
            client.run({"app": APP, "input": {"prompt": "b"}, "webhook": url})
        body = received.get(timeout=10)
    assert body["status"] == TaskStatus.FAILED and body["error"] == "CUDA out of memory"


def test_rejected_task_never_runs(client, emu):
    emu.inferencesh_outcomes([{"status": "rejected", "error": "no balance"}])
    with pytest.raises(RuntimeError, match="rejected: no balance"):
        client.run({"app": APP, "input": {"prompt": "a"}})
    assert [t["status"] for t in emu.inferencesh_tasks()] == ["rejected"]


def test_cancel_ends_a_running_task_and_its_open_stream(client, emu):
    emu.inferencesh_outcomes([{"seconds": 10 * 24 * 3600}])  # would run for ~4 real minutes
    stream = client.run({"app": APP, "input": {"prompt": "slow"}}, stream=True)
    seen: queue.Queue = queue.Queue()

    def consume() -> None:
        try:
            for update in stream:
                seen.put(update["status"])
        except RuntimeError as exc:
            seen.put(str(exc))

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert seen.get(timeout=10) == TaskStatus.RECEIVED  # the stream is open
    client.cancel(stream.task_id)
    consumer.join(timeout=10)
    tail = []
    while not seen.empty():
        tail.append(seen.get())
    assert tail[-1] == "task cancelled"
    assert client.get_task(stream.task_id).data["status"] == TaskStatus.CANCELLED
    with pytest.raises(APIError) as ended:  # cancelling an ended task is refused, not silently accepted
        client.cancel(stream.task_id)
    assert ended.value.status_code == 409


def test_own_auth_and_input_checks(client, emu):
    with pytest.raises(APIError) as wrong:
        inference(api_key="bria-token-x", base_url=emu.inferencesh_url).run(
            {"app": APP, "input": {"prompt": "a"}}
        )
    assert wrong.value.status_code == 401
    bria_route = httpx.post(
        f"{emu.url}/v2/image/generate/lite", json={"prompt": "a"}, headers={"api_token": KEY}
    )
    assert bria_route.status_code == 401  # the inference.sh key is not a Bria token
    with pytest.raises(APIError) as unknown:
        client.run({"app": APP, "input": {"prompt": "a", "steps": 4}})  # a wrongly guessed field name
    assert unknown.value.status_code == 422 and "steps" in str(unknown.value)
    with pytest.raises(APIError) as missing_app:
        client.run({"app": "someone/else", "input": {}})
    assert missing_app.value.status_code == 404
    assert emu.inferencesh_tasks() == []


def test_reset_clears_tasks(client, emu):
    client.run({"app": APP, "input": {"prompt": "a"}}, wait=False)
    emu.reset()
    assert emu.inferencesh_tasks() == []
