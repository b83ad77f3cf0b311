"""generate_lite on both backends: Bria's native endpoint and inference.sh's app through the real SDK.

Both run against the emulator (Bria's routes and its emulated inference.sh API under /inferencesh), in the
session's Prefect test server.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler

from bria_api import BriaValidationError, MissingTokenError
from bria_api.inferencesh import TaskFailedError
from flows.generation import generate_lite
from tests.flows.conftest import TOKEN

pytest.importorskip("inferencesh")

# Values that must differ between backends (or runs); everything else in a sidecar is the same.
DIFFERS = {"backend", "request_id", "operation", "file", "created_at", "flow_run_id"}


@pytest.fixture
def ish_env(bria_env, monkeypatch):
    monkeypatch.setenv("INFERENCE_API_KEY", bria_env.inference_api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", bria_env.inferencesh_url)
    return bria_env


def sidecars(files) -> list[dict]:
    return [json.loads(f.sidecar.read_text()) for f in files]


async def test_both_backends_write_the_same_sidecars_and_images(ish_env, tmp_path):
    common = dict(prompt="a red bicycle", num_images=2, aspect_ratio="16:9", seed=41, output_format="jpeg")
    native = await generate_lite(**common, out_dir=tmp_path / "bria")
    remote = await generate_lite(**common, out_dir=tmp_path / "ish", backend="inferencesh", steps=4)
    assert [f.path.suffix for f in remote] == [".jpg", ".jpg"]
    for ours, theirs in zip(sidecars(native), sidecars(remote), strict=True):
        assert set(ours) == set(theirs)
        assert {k: v for k, v in ours.items() if k not in DIFFERS} == {
            k: v for k, v in theirs.items() if k not in DIFFERS
        }
        assert (ours["backend"], theirs["backend"]) == ("bria", "inferencesh")
        assert theirs["operation"] == "bria/generate-lite" and theirs["request_id"]
    assert [s["seed"] for s in sidecars(remote)] == [41, 42]
    assert Image.open(remote[0].path).size == (1344, 768)
    tasks = ish_env.inferencesh_tasks()
    assert sorted((t["input"] for t in tasks), key=lambda i: i["seed"]) == [  # sent concurrently
        {"prompt": "a red bicycle", "num_images": 1, "aspect_ratio": "16:9", "steps_num": 4, "seed": s,
         "output_format": "jpeg"}
        for s in (41, 42)
    ]  # fmt: skip
    assert TOKEN not in json.dumps(sidecars(remote))


async def test_progress_artifact_and_log_lines_follow_the_stream(ish_env, tmp_path):
    state = await generate_lite(
        prompt="a lamp", seed=3, steps=4, out_dir=tmp_path, backend="inferencesh", return_state=True
    )
    [image] = await state.result()
    await APILogHandler.aflush()
    async with get_client() as prefect:
        [artifact] = await prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"inferencesh-{image.request_id}"]))
        )
        logs = await prefect.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    assert artifact.type == "progress" and artifact.data == 100.0
    prefix = f"inference.sh task {image.request_id}: "
    lines = [log.message.removeprefix(prefix) for log in logs if log.message.startswith(prefix)]
    statuses = [line for line in lines if line.isupper()]
    assert statuses == ["RECEIVED", "QUEUED", "DISPATCHED", "PREPARING", "SERVING", "SETTING_UP", "RUNNING",
                        "UPLOADING", "COMPLETED"]  # fmt: skip
    assert sum("step " in line for line in lines) == 4  # each log line once, on change


async def test_reference_images_are_uploaded_by_the_sdk_and_urls_pass_through(ish_env, tmp_path):
    local = tmp_path / "ref.png"
    Image.new("RGB", (640, 640), (200, 40, 90)).save(local)
    [first] = await generate_lite(
        prompt="a mug", reference_images=[str(local)], out_dir=tmp_path, backend="inferencesh"
    )
    url = ish_env.inferencesh_tasks()[0]["input"]["images"][0]
    assert url.startswith(ish_env.url) and url != str(local)
    await generate_lite(
        prompt="a mug", reference_images=[url, str(local)], out_dir=tmp_path, backend="inferencesh"
    )
    second = ish_env.inferencesh_tasks()[1]["input"]["images"]
    assert second[0] == url and second[1].startswith(ish_env.url)
    assert Image.open(first.path).size == (1024, 1024)


async def test_rerun_spends_nothing_and_a_started_task_is_reattached(ish_env, tmp_path):
    [image] = await generate_lite(prompt="a cup", seed=9, out_dir=tmp_path, backend="inferencesh")
    [again] = await generate_lite(prompt="a cup", seed=9, out_dir=tmp_path, backend="inferencesh")
    assert again.reused and len(ish_env.inferencesh_tasks()) == 1
    # A crash after the task started (marker written, nothing saved): the re-run re-attaches to that task.
    image.path.unlink()
    marker = image.path.with_name(image.path.name + ".pending")
    marker.write_text(json.dumps({"task_id": image.request_id}))
    [resumed] = await generate_lite(prompt="a cup", seed=9, out_dir=tmp_path, backend="inferencesh")
    assert resumed.request_id == image.request_id and not resumed.reused and not marker.exists()
    assert resumed.sha256 == image.sha256 and len(ish_env.inferencesh_tasks()) == 1


async def test_a_failed_task_fails_the_flow_with_the_platform_message_and_is_not_retried(ish_env, tmp_path):
    ish_env.inferencesh_outcomes([{"status": "failed", "error": "CUDA out of memory"}])
    with pytest.raises(TaskFailedError, match="FAILED: CUDA out of memory"):
        await generate_lite(prompt="a boat", out_dir=tmp_path, backend="inferencesh")
    ish_env.inferencesh_outcomes([{"status": "rejected", "error": "insufficient balance"}])
    with pytest.raises(TaskFailedError, match="REJECTED: insufficient balance"):
        await generate_lite(prompt="a boat at dusk", out_dir=tmp_path, backend="inferencesh")
    assert [t["status"] for t in ish_env.inferencesh_tasks()] == ["failed", "rejected"]
    assert not list(tmp_path.glob("*.pending"))  # a deliberate re-run starts afresh


async def test_bad_input_is_refused_before_any_task(ish_env, tmp_path, monkeypatch):
    with pytest.raises(BriaValidationError, match=r"reference_images\[0\]: .*missing.png is not a file"):
        await generate_lite(
            prompt="a", reference_images=[str(tmp_path / "missing.png")], backend="inferencesh"
        )
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(BriaValidationError, match="notes.png"):
        await generate_lite(prompt="a", reference_images=[str(tmp_path / "notes.png")], backend="inferencesh")
    with pytest.raises(BriaValidationError, match="prompt: the inferencesh SDK would upload"):
        await generate_lite(prompt="abstractpatterns", backend="inferencesh")
    with pytest.raises(Exception, match="guidance_scale"):
        await generate_lite(prompt="a", guidance_scale=6, backend="inferencesh")
    with pytest.raises(BriaValidationError, match="one reference image"):
        await generate_lite(prompt="a", reference_images=["http://x/1.png", "http://x/2.png"])
    monkeypatch.delenv("INFERENCE_API_KEY")
    with pytest.raises(MissingTokenError, match="INFERENCE_API_KEY"):
        await generate_lite(prompt="a", backend="inferencesh", out_dir=tmp_path)
    assert ish_env.inferencesh_tasks() == [] and ish_env.stats()["resources"].get("jobs", 0) == 0


async def test_cancelling_the_run_cancels_the_remote_task(ish_env, tmp_path):
    ish_env.inferencesh_outcomes([{"seconds": 30 * 24 * 3600}])  # ~12 real minutes at 3600x
    run = asyncio.ensure_future(generate_lite(prompt="slow", out_dir=tmp_path, backend="inferencesh"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not list(tmp_path.glob("*.pending")):  # the task started remotely and the flow is following it
        assert not run.done(), run
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    [task] = ish_env.inferencesh_tasks()
    assert task["cancel_requested"] and task["status"] == "cancelled"
    assert not list(Path(tmp_path).glob("*.pending"))


def test_cli_generates_on_inferencesh(ish_env, tmp_path):
    from prefect.settings import PREFECT_API_URL

    from tests.flows.test_cli import bria_flows

    result = bria_flows(
        "generate", "--lite", "--backend", "inferencesh", "-p", "a red bicycle", "--num-images", "2",
        "--seed", "5", "--out", str(tmp_path),
        env={"PREFECT_API_URL": PREFECT_API_URL.value()},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    images = [Path(line) for line in result.stdout.split() if line.endswith(".png")]
    assert [json.loads(p.with_suffix(".json").read_text())["backend"] for p in images] == ["inferencesh"] * 2
    assert ish_env.inference_api_key not in result.stdout + result.stderr
