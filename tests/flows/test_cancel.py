"""SIGTERM while a training runs: the flow run's crash hook stops the remote training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import asyncio, sys
from flows.dataset import prepare_dataset
from flows.params import DatasetParams, ProjectParams, TrainingParams
from flows.training import train_model

async def main():
    prepared = await prepare_dataset(ProjectParams(project_name="Brand"),
                                     DatasetParams(name="d", images_dir=sys.argv[1], caption_poll_seconds=0.1))
    await train_model(prepared.project_id, prepared.dataset_id,
                      TrainingParams(model_name="m", poll_initial_seconds=0.2, poll_max_seconds=0.3))

asyncio.run(main())
"""


def _models(emulator) -> list[dict]:
    return httpx.get(f"{emulator.url}/v1/tailored-gen/models", headers={"api_token": emulator.token}).json()


def test_sigterm_during_training_stops_the_remote_model(bria_env, image_dir, tmp_path):
    httpx.post(f"{bria_env.url}/_emulator/clock", json={"time_scale": 0.001})  # the training cannot finish
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(image_dir)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while not any(
            m["status"] == "InProgress" for m in _models(bria_env)
        ):  # waits on the emulator's state
            assert proc.poll() is None, "the flow died before training started"
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        httpx.post(f"{bria_env.url}/_emulator/clock", json={"time_scale": 3600})
    bria_env.advance(3600)
    assert [m["status"] for m in _models(bria_env)] == ["Stopped"]
