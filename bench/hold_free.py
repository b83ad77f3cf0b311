"""Hold-free wait: worker-seconds held while a 6 h emulated training runs, in deployment (event) mode.

A real ``prefect server start`` (temporary PREFECT_HOME) + ``bria-flows deploy`` + a process worker, and
the ``lifecycle`` deployment (``wait_mode=suspend``). Worker time is measured, not inferred: a sampler
thread lists the worker's descendant processes every 0.1 s and reads each one's PREFECT__FLOW_RUN_ID, so
every flow-run process's lifetime is known. The training runs from the ``start-training`` answer until the
emulator clock is advanced by 6 h; the run's process-seconds inside that span are what it held. The
watcher deployment (every 5 min, shared by all trainings) is a separate cost: one pass is measured and
scaled to the 72 passes of 6 h.

Quick mode does not start a server (~2 min on 2 cores); ``tests/e2e`` already runs this path.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._bria import Recorder
from bench._common import ROOT, TOKEN, Result, emulator
from bench._images import write_dataset

TRAINING_HOURS = 6.0
WATCH_INTERVAL_S = 300  # the training-watcher deployment's schedule (deployments/deploy.py)
BIN = Path(sys.executable).parent


class ProcessSampler(threading.Thread):
    """Lifetimes of flow-run processes under one worker: (flow-run id, pid) -> [first seen, last seen].

    Keyed by pid too: a resumed run is a new process, and the suspended gap between the two is not held.
    """

    def __init__(self, root_pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True, name="flow-run-process-sampler")
        self.root_pid, self.every = root_pid, every
        self.seen: dict[tuple[str, int], list[float]] = {}
        self._halt = threading.Event()

    def _descendants(self) -> list[int]:
        out, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    kids = [int(k) for k in (task / "children").read_text().split()]
                    out += kids
                    todo += kids
        return out

    def run(self) -> None:
        while not self._halt.is_set():
            now = time.monotonic()
            for pid in self._descendants():
                with contextlib.suppress(OSError):
                    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                    run_id = next(
                        (e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"PREFECT__FLOW_RUN_ID=")),
                        None,
                    )
                    if run_id:
                        self.seen.setdefault((run_id, pid), [now, now])[1] = now
            time.sleep(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def lives(self, run_id: str) -> list[list[float]]:
        return sorted(span for (rid, _), span in list(self.seen.items()) if rid == run_id)

    def held(self, run_id: str, start: float, end: float) -> float:
        """Process-seconds of this run inside [start, end]."""
        return sum(max(0.0, min(last, end) - max(first, start)) for first, last in self.lives(run_id))

    def last_seen(self, run_id: str) -> float | None:
        return max((last for _, last in self.lives(run_id)), default=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Any, timeout: float = 240.0, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(every)
    return value


@contextlib.contextmanager
def _stack(home: Path, emu_url: str) -> Iterator[dict[str, Any]]:
    """Prefect server, deployments, process worker (+ sampler). Everything started here is stopped here."""
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "BRIA_API_TOKEN": TOKEN,
        "BRIA_BASE_URL": emu_url,
        "BRIA_REQUESTS_PER_MINUTE": "6000",
    }
    procs: list[subprocess.Popen] = []
    sampler: ProcessSampler | None = None
    log = (home / "stack.log").open("w")
    try:
        server = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        procs.append(subprocess.Popen(server, env=env, stdout=log, stderr=subprocess.STDOUT))
        _wait("the Prefect server", lambda: _get(f"{api}/health") is not None, timeout=180)
        deploy = [str(BIN / "bria-flows"), "deploy"]
        done = subprocess.run(deploy, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"bria-flows deploy failed: {done.stderr[-2000:]}")
        worker = [str(BIN / "prefect"), "worker", "start", "--pool", "bria-process"]
        procs.append(subprocess.Popen(worker, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        sampler = ProcessSampler(procs[-1].pid)
        sampler.start()
        yield {"api": api, "sampler": sampler}
    finally:
        if sampler is not None:
            with contextlib.suppress(Exception):  # never let it keep the server and worker alive
                sampler.stop()
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def _get(url: str) -> Any:
    with contextlib.suppress(httpx.HTTPError):
        response = httpx.get(url, timeout=5)
        if response.status_code == 200:
            return response.json()
    return None


def _create_run(api: str, deployment: str, parameters: dict[str, Any]) -> str:
    dep = httpx.get(f"{api}/deployments/name/{deployment}", timeout=10).json()
    run = httpx.post(
        f"{api}/deployments/{dep['id']}/create_flow_run", json={"parameters": parameters}, timeout=10
    )
    run.raise_for_status()
    return run.json()["id"]


def _state(api: str, run_id: str) -> tuple[str, str]:
    state = (_get(f"{api}/flow_runs/{run_id}") or {}).get("state") or {}
    return state.get("type", "?"), state.get("name", "?")


def _finished(api: str, run_id: str) -> tuple[str, str] | None:
    state = _state(api, run_id)
    return state if state[0] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None


def run(quick: bool = False, workdir: Path | None = None) -> Result:
    polling_hold = TRAINING_HOURS * 3600
    if quick:
        return Result(
            name="hold-free wait",
            goal="≈ 0 worker-seconds (report the figure)",
            figure="not measured in quick mode (needs a Prefect server and a process worker)",
            status="skipped",
        )
    recorder = Recorder()
    with (
        tempfile.TemporaryDirectory(dir=workdir) as tmp,
        emulator(training_seconds=polling_hold, generation_seconds=1.0, wrap_app=recorder.wrap) as emu,
        _stack(Path(tmp), emu.url) as stack,
    ):
        api, sampler = stack["api"], stack["sampler"]
        images = write_dataset(Path(tmp) / "images", 6)
        params = {
            "project": {"project_name": "hold-free"},
            "dataset": {"name": "hold-free", "images_dir": str(images), "caption_poll_seconds": 0.5},
            "training": {"model_name": "hold-free"},
            "out_dir": str(Path(tmp) / "out"),
        }
        run_id = _create_run(api, "tailored-lifecycle/lifecycle", params)
        _wait("the run to suspend", lambda: _state(api, run_id) == ("PAUSED", "Suspended"), timeout=300)
        _wait("its process to be seen", lambda: sampler.last_seen(run_id) is not None, timeout=10)
        _wait("its process to exit", lambda: time.monotonic() - (sampler.last_seen(run_id) or 0) > 1.0)
        time.sleep(5)  # observe the suspended span: nothing of the run may be alive
        started = next(t for t, status, path in recorder.answers if path.endswith("/start_training"))
        emu.advance(polling_hold)  # the training ends now (emulated 6 h later)
        ended = time.monotonic()
        watcher_id = _create_run(api, "training-watcher/training-watcher", {})
        watcher_state = _wait("the watcher", lambda: _finished(api, watcher_id))
        final = _wait("the resumed run", lambda: _finished(api, run_id), timeout=300)
        time.sleep(1)  # let the sampler see the last processes go
        lives = {rid: sampler.lives(rid) for rid, _ in list(sampler.seen)}
    held = sampler.held(run_id, started, ended)
    pass_seconds = sum(last - first for first, last in lives.get(watcher_id, []))
    passes = TRAINING_HOURS * 3600 / WATCH_INTERVAL_S
    watcher_total = pass_seconds * passes
    ok = final[0] == "COMPLETED" and watcher_state[0] == "COMPLETED" and held < 60
    return Result(
        name="hold-free wait",
        goal="≈ 0 worker-seconds (report the figure)",
        figure=(
            f"the run holds {held:.1f} worker-s during the {TRAINING_HOURS:g} h training (its process exits "
            f"after suspending; polling mode: {polling_hold:,.0f}); shared watcher: {pass_seconds:.1f} s per "
            f"5-min pass = {watcher_total:,.0f} worker-s per {TRAINING_HOURS:g} h for all trainings"
        ),
        ratio=(held + watcher_total) / polling_hold,
        status="pass" if ok else "miss",
        details={
            "run_worker_seconds_during_training": round(held, 2),
            "training_span_real_s": round(ended - started, 1),
            "watcher_pass_s": round(pass_seconds, 2),
            "watcher_worker_s_per_training": round(watcher_total),
            "final_state": final,
            "watcher_state": watcher_state,
            "process_lives_s": {
                ("lifecycle" if k == run_id else "watcher" if k == watcher_id else k): [
                    round(last - first, 1) for first, last in v
                ]
                for k, v in lives.items()
            },
            "lifecycle_process_exit_after_training_start_s": round(
                max(0.0, min(last for _, last in lives.get(run_id, [[0, 0]])) - started), 1
            ),
        },
        notes=[
            "Real Prefect server + process worker; lifecycle deployment in suspend mode; emulator time scale 1, "
            "6 h training, clock advanced by 6 h once the run had suspended; watcher run by hand (its schedule "
            "is every 5 min). Process lifetimes sampled from /proc every 0.1 s (PREFECT__FLOW_RUN_ID).",
            "The ratio column is (run hold + watcher passes over 6 h) / the 21 600 worker-s of polling mode.",
        ],
    )
