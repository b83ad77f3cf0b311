"""A real Prefect server, a process worker and the emulator, one set per end-to-end test module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check, timeout: float = 120.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Emulator + `prefect server start` (temporary PREFECT_HOME, SQLite) + a process worker."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    # A minute per second: captions and sample images take about a second, while a 4 h training needs the
    # tests' own clock advance (4 real minutes otherwise), so a loaded machine never sees it end early.
    with EmulatorServer(EmulatorConfig(time_scale=60.0, training_seconds=4 * 3600)) as emu:
        env = {
            **os.environ,
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "BRIA_API_TOKEN": emu.token,
            "BRIA_BASE_URL": emu.url,
            "BRIA_REQUESTS_PER_MINUTE": "6000",
        }
        procs: list[subprocess.Popen] = []
        logs = home / "logs"
        logs.mkdir()
        try:
            procs.append(_start_server(env, port, logs / "server.log"))
            _deploy_all(env)
            procs.append(_start_worker(env, logs / "worker.log"))
            yield {"api": api, "env": env, "emulator": emu, "home": home}
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    """``prefect server start`` on loopback; returns once it answers /health."""
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=open(log, "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    _wait("the Prefect server", lambda: _healthy(f"http://127.0.0.1:{port}/api"), timeout=180)
    return proc


def _deploy_all(env: dict) -> None:
    deployed = subprocess.run(
        [str(BIN / "bria-flows"), "deploy"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert deployed.returncode == 0, deployed.stderr[-3000:]


def _start_worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "bria-process"],
        env=env,
        cwd=ROOT,
        stdout=open(log, "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _run_deployment(stack, name: str, parameters: dict | None = None) -> str:
    api = stack["api"]
    dep = httpx.get(f"{api}/deployments/name/{name}").json()
    run = httpx.post(f"{api}/deployments/{dep['id']}/create_flow_run", json={"parameters": parameters or {}})
    assert run.status_code == 201, run.text
    return run.json()["id"]


def _state(stack, run_id: str) -> tuple[str, str]:
    state = httpx.get(f"{stack['api']}/flow_runs/{run_id}").json()["state"]
    return state["type"], state["name"]


def _wait_suspended(stack, run_id: str, timeout: float = 240) -> None:
    """Wait for the run to suspend; a run that ends instead fails at once, with its message and the worker's log."""

    def check() -> tuple[str, str] | None:
        state = _state(stack, run_id)
        if state == ("PAUSED", "Suspended"):
            return state
        if state[0] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            run = httpx.get(f"{stack['api']}/flow_runs/{run_id}").json()
            log = (stack["home"] / "logs" / "worker.log").read_text(errors="replace")[-4000:]
            raise AssertionError(
                f"run ended {state} instead of suspending: {run['state'].get('message')}\n{log}"
            )
        return None

    try:
        _wait("the run to suspend", check, timeout=timeout)
    except AssertionError as exc:
        if "timed out" in str(exc):
            log = (stack["home"] / "logs" / "worker.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"{exc}; last state {_state(stack, run_id)}; worker log:\n{log}") from None
        raise
