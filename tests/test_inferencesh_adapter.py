"""The inference.sh adapter (bria_api/inferencesh) without Prefect: optional SDK, key handling, the field
mapping and its overrides, update parsing, and cancellation of a task whose run request was in flight."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bria_api import MissingTokenError
from bria_api.inferencesh import (
    InferenceShAPIError,
    InferenceShLite,
    InferenceShSettings,
    TaskUpdate,
    app_input,
    read_output,
)
from bria_api.lite import LiteParams
from bria_emulator import EmulatorConfig, EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
KEY = "inf-adapter-key-77c2"


@pytest.fixture(scope="module")
def emu():
    with EmulatorServer(
        EmulatorConfig(inference_api_key=KEY, time_scale=3600, generation_seconds=8)
    ) as server:
        yield server


def settings(emu, **extra) -> InferenceShSettings:
    return InferenceShSettings(api_key=SecretStr(KEY), base_url=emu.inferencesh_url, **extra)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)


def test_the_sdk_is_optional_and_imported_only_when_used():
    lazy = _python("import sys, bria_api.inferencesh, flows.generation; print('inferencesh' in sys.modules)")
    assert lazy.stdout.strip() == "False", lazy.stderr
    missing = _python(
        "import sys; sys.modules['inferencesh'] = None\n"
        "from pydantic import SecretStr\n"
        "from bria_api.inferencesh import InferenceShLite, InferenceShSettings\n"
        "InferenceShLite(InferenceShSettings(api_key=SecretStr('k')))"
    )
    assert "BackendUnavailableError" in missing.stderr and "bria-flows[inferencesh]" in missing.stderr


def test_the_key_comes_from_the_environment_or_a_block_never_elsewhere(monkeypatch):
    monkeypatch.delenv("INFERENCE_API_KEY", raising=False)
    with pytest.raises(MissingTokenError, match="INFERENCE_API_KEY"):
        InferenceShLite(InferenceShSettings())
    monkeypatch.setenv("INFERENCE_API_KEY", KEY)
    assert InferenceShSettings().require_key() == KEY and KEY not in repr(InferenceShSettings())


def test_mapping_renames_our_parameters_and_leaves_unset_ones_to_the_app():
    params = LiteParams(prompt="a", reference_images=("http://x/a.png",), steps=12, seed=3)
    sent = app_input({**params.model_dump(), "reference_images": list(params.reference_images)})
    assert sent == {
        "prompt": "a",
        "images": ["http://x/a.png"],
        "num_images": 1,
        "aspect_ratio": "1:1",
        "steps_num": 12,
        "seed": 3,
        "output_format": "png",
    }
    assert app_input({"steps": 4}, {"steps": "num_inference_steps"}) == {"num_inference_steps": 4}
    with pytest.raises(KeyError, match="negative_prompt"):
        app_input({"negative_prompt": "x"})


@pytest.mark.parametrize(
    "output",
    [
        {"images": [{"uri": "http://h/1.png", "content_type": "image/png"}], "seed": 5},
        {"images": ["http://h/1.png"], "seed": 5},
        {"images": {"url": "http://h/1.png"}, "seed": 5},
    ],
)
def test_output_images_as_file_objects_urls_or_a_single_file(output):
    assert read_output(output) == {"images": ["http://h/1.png"], "seed": 5, "structured_prompt": None}


def test_update_parsing_and_progress():
    line = {"content": base64.b64encode(b"step 3/4").decode()}
    running = TaskUpdate.parse({"id": "t", "status": 7, "logs": [{"content": "loading"}, line]})
    assert running.logs == ("loading", "step 3/4") and running.progress(10.0) == 75.0
    assert TaskUpdate.parse({"id": "t", "status": "completed"}).status == 10  # the SDK's future string form
    assert TaskUpdate.parse({"id": "t", "status": 2}).progress(75.0) == 75.0  # never goes backwards


async def test_a_corrected_field_name_is_what_gets_sent(emu, monkeypatch):
    emu.reset()
    monkeypatch.setenv("INFERENCE_INPUT_FIELDS", '{"steps": "num_inference_steps"}')
    runner = InferenceShLite(settings(emu))  # INFERENCE_INPUT_FIELDS is read from the environment
    with pytest.raises(InferenceShAPIError) as refused:  # the emulated app does not know that name
        await runner.submit(LiteParams(prompt="a lamp", steps=4))
    assert refused.value.status_code == 422 and "num_inference_steps" in str(refused.value)
    assert KEY not in str(refused.value) and emu.inferencesh_tasks() == []


async def test_wrong_key_is_a_clear_error_without_the_key(emu):
    runner = InferenceShLite(
        InferenceShSettings(api_key=SecretStr("inf-wrong-key-123"), base_url=emu.inferencesh_url)
    )
    with pytest.raises(InferenceShAPIError, match="401") as denied:
        await runner.submit(LiteParams(prompt="a lamp"))
    assert "inf-wrong-key-123" not in str(denied.value) and not denied.value.transient


async def test_a_run_cancelled_while_its_request_is_in_flight_is_cancelled_remotely(emu):
    emu.reset()
    emu.inferencesh_outcomes([{"seconds": 30 * 24 * 3600}])
    runner = InferenceShLite(settings(emu))
    opening = asyncio.ensure_future(runner.open_stream(LiteParams(prompt="a slow lamp")))
    await asyncio.sleep(0)  # the run request is on its way (in a worker thread)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while [t["status"] for t in emu.inferencesh_tasks()] != ["cancelled"]:  # the emulator's state decides
        assert loop.time() < deadline, emu.inferencesh_tasks()
        await asyncio.sleep(0.02)
