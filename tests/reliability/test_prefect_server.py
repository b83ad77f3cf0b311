"""Rows 16 (UI/API cancel) and 18 (Prefect API restart) on a real ``prefect server start`` and process worker.

The server runs on a free loopback port with its own PREFECT_HOME, the worker polls every 2 s, the emulator's
clock runs 60x with 100 h trainings (a training never ends by itself; Stopping -> Stopped takes 0.5 s).
Everything started here is stopped here.
"""

from __future__ import annotations

import os
import subprocess
import time

import httpx
import pytest

from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer
from tests.e2e.conftest import (
    BIN,
    ROOT,
    _deploy_all,
    _free_port,
    _run_deployment,
    _start_server,
    _start_worker,
    _state,
    _wait,
)
from tests.imagegen import distinct_images
from tests.reliability.conftest import TOKEN, client_for
from tests.reliability.figures import figure
from tests.reliability.processes import FlowProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


class PrefectServer:
    """``prefect server start`` as a child process that can be stopped and started again on the same port."""

    def __init__(self, env: dict, port: int, log_dir) -> None:
        self.env, self.port, self.log_dir = env, port, log_dir
        self.api = f"http://127.0.0.1:{port}/api"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.proc = _start_server(self.env, self.port, self.log_dir / f"server-{self.starts}.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    logs = home / "logs"
    logs.mkdir()
    config = EmulatorConfig(api_token=TOKEN, time_scale=60.0, training_seconds=100 * 3600)
    with EmulatorServer(config) as emu:
        port = _free_port()
        env = {
            **os.environ,
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            # leases of global concurrency limits (the cross-run locks) must survive a server restart
            "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
            "BRIA_API_TOKEN": TOKEN,
            "BRIA_BASE_URL": emu.url,
            "BRIA_REQUESTS_PER_MINUTE": "6000",
            "PYTHONPATH": str(ROOT),
        }
        server = PrefectServer(env, port, logs)
        worker = None
        try:
            server.start()
            _deploy_all(env)
            worker = _start_worker(env, logs / "worker.log")
            yield {"api": server.api, "env": env, "emulator": emu, "server": server, "home": home}
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
            server.stop()


def _model_status(emu, model_id: int) -> str:
    url = f"{emu.url}/v1/tailored-gen/models/{model_id}"
    return httpx.get(url, headers={"api_token": TOKEN}).json()["status"]


async def _completed_dataset(emu, name: str) -> tuple[int, int]:
    async with client_for(emu) as bria:
        project = await bria.projects.create(name, ip_medium="photography", ip_type="other")
        dataset = await bria.datasets.create(project.id, f"{name} dataset")
        await bria.datasets.update(dataset.id, visual_schema='{"style": "studio"}')
        for i, data in enumerate(distinct_images(5, size=320)):
            await bria.images.upload(dataset.id, data, image_name=f"img-{i}.png")
        await bria.datasets.complete(dataset.id)
        return project.id, dataset.id


def _brand_folder(path):
    path.mkdir()
    for i, data in enumerate(distinct_images(5, size=320)):
        (path / f"img-{i}.png").write_bytes(data)
    return path


@pytest.mark.parametrize("deployment", ["train-model/train-model", "tailored-lifecycle/lifecycle"])
async def test_cancel_through_the_api_stops_the_remote_training(live, tmp_path, deployment):
    """``prefect flow-run cancel`` while the model trains: the train-model deployment, and the lifecycle in
    poll mode (its train-model runs as a subflow in the killed process)."""
    emu = live["emulator"]
    name = f"cancel {deployment.split('/')[1]}"
    training = {"model_name": name, "poll_initial_seconds": 0.5, "poll_max_seconds": 1.0}
    if deployment.startswith("train-model"):
        project_id, dataset_id = await _completed_dataset(emu, name)
        parameters = {"project_id": project_id, "dataset_id": dataset_id, "training": training}
    else:
        folder = _brand_folder(tmp_path / "brand")
        parameters = {
            "project": {"project_name": name},
            "dataset": {"name": name, "images_dir": str(folder), "caption_poll_seconds": 0.2},
            "training": training,
            "wait_mode": "poll",
            "out_dir": str(tmp_path / "out"),
        }
    started_before = emu.stats()["trainings_started"]
    run_id = _run_deployment(live, deployment, parameters)
    models = f"{emu.url}/v1/tailored-gen/models"
    [model] = _wait(
        "the training to start",
        lambda: [
            m
            for m in httpx.get(models, headers={"api_token": TOKEN}).json()
            if m["name"] == name and m["status"] == "InProgress"
        ],
        timeout=240,
        every=0.2,
    )
    cancelled_at = time.monotonic()
    cancel = subprocess.run(
        [str(BIN / "prefect"), "flow-run", "cancel", run_id], env=live["env"], capture_output=True, text=True
    )
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    _wait("the remote training to stop", lambda: _model_status(emu, model["id"]) == "Stopped", 180, 0.2)
    to_stopped = time.monotonic() - cancelled_at
    final = _wait(
        "the run to end", lambda: (s := _state(live, run_id))[0] in ("CANCELLED", "FAILED", "CRASHED") and s
    )
    assert final[0] == "CANCELLED", final
    assert emu.stats()["trainings_started"] == started_before + 1
    figure(
        16,
        f"API cancel (prefect flow-run cancel) of a {deployment} run on a process worker: remote trainings "
        f"left running 0/1; cancel -> model Stopped in {to_stopped:.1f} s; run {final[1]}",
    )


OUTAGE_SECONDS = 20.0  # the injected fault: how long the Prefect server stays down


def test_prefect_server_restart_mid_run_loses_nothing(live, tmp_path):
    """Stop the Prefect server while a lifecycle run uploads, keep it down 20 s, start it again (same port,
    same PREFECT_HOME): the run goes on, its states land once the server is back, nothing is done twice."""
    emu, server = live["emulator"], live["server"]
    images = _brand_folder(tmp_path / "brand")
    parameters = {
        "project": {"project_name": "Restart brand"},
        "dataset": {
            "name": "restart v1",
            "images_dir": str(images),
            "caption_poll_seconds": 0.2,
            "upload_concurrency": 1,
        },
        "training": {"model_name": "restart model", "poll_initial_seconds": 0.5, "poll_max_seconds": 1.0},
        "samples": [{"prompt": "a mug on a desk", "seed": 1}],
        "out_dir": str(tmp_path / "out"),
    }
    before = emu.stats()
    emu.set_faults({"rules": [{"op": "upload-image", "kind": "hold", "after": 2, "times": 1}]})
    run = FlowProcess(tmp_path / "run.log", env=live["env"]).go(
        {"flow": "lifecycle", "parameters": parameters}
    )
    try:
        wait_until(
            "the run to be mid-upload", lambda: emu.stats()["holds"]["waiting"] or not run.alive(), 240
        )
        assert run.alive(), run.output()[-3000:]
        run_id = run.flow_run_id()
        down_at = time.monotonic()
        server.stop()
        emu.release()  # the run carries on uploading while Prefect is down
        time.sleep(OUTAGE_SECONDS)  # the outage itself is the injected fault, not a wait for an event
        server.start()
        outage = time.monotonic() - down_at
        [model] = _wait(
            "the training to start",
            lambda: [
                m
                for m in httpx.get(f"{emu.url}/v1/tailored-gen/models", headers={"api_token": TOKEN}).json()
                if m["name"] == "restart model" and m["status"] == "InProgress"
            ],
            timeout=300,
            every=0.2,
        )
        emu.advance(101 * 3600)
        code = run.wait(300)
    finally:
        if run.alive():
            run.kill()
    assert code == 0, run.output()[-4000:]
    assert run.result()["model_id"] == model["id"]
    state = _wait(
        "the final state on the server", lambda: (s := _state(live, run_id))[0] == "COMPLETED" and s
    )
    after = emu.stats()
    ops = {
        op: after["operations"][op]["requests"] - before["operations"].get(op, {}).get("requests", 0)
        for op in ("create-project", "create-dataset", "upload-image", "create-model", "start-training")
    }
    assert ops == {
        "create-project": 1,
        "create-dataset": 1,
        "upload-image": 5,
        "create-model": 1,
        "start-training": 1,
    }
    duplicates = sum(d["duplicate_contents"] for d in after["datasets"].values())
    assert duplicates == 0
    figure(
        18,
        f"Prefect server down {outage:.0f} s mid-upload (stopped, restarted on the same port and home): run "
        f"{state[1]}, final state on the server; duplicate side effects 0 ({ops})",
    )
