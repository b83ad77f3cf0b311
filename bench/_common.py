"""Shared benchmark plumbing: emulator, env, Prefect harness, alternation, peak RSS, images, machine info."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer

TOKEN = "bench-token-5d1c0e"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One row of RESULTS.md."""

    name: str
    goal: str
    figure: str
    ratio: float | None = None
    status: str = "report"  # pass | miss | report | pending
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def verdict(ok: bool) -> str:
    return "pass" if ok else "miss"


# --- emulator ------------------------------------------------------------------------------------


class BenchEmulator(EmulatorServer):
    """An emulator that remembers its fault profile, so ``fresh()`` restores it after a reset."""

    def __init__(self, config: EmulatorConfig, faults: dict[str, Any]) -> None:
        super().__init__(config)
        self.profile = faults
        self.emulator_app = self.app  # .app may be wrapped (bench._bria.Recorder); this stays the FastAPI app

    def fresh(self) -> None:
        self.reset()  # reset() also clears faults: put the benchmark's latency and caps back
        self.set_faults(self.profile)

    def runtime(self) -> Any:
        """The in-process emulator state (for invariants the HTTP stats do not expose)."""
        return self.emulator_app.state.runtime


class ProcessEmulator(BenchEmulator):
    """The same emulator in a process of its own (``python -m bria_emulator``): its CPU work (decoding
    uploads, parsing 300 KB JSON bodies) then runs beside the client, as Bria's servers would, instead of
    taking turns with it on one GIL. Admin helpers are HTTP, so they work unchanged."""

    def start(self, timeout: float = 30.0) -> ProcessEmulator:
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = s.getsockname()[1]
        c = self.config
        cmd = [sys.executable, "-m", "bria_emulator", "--host", self.host, "--port", str(self.port)]
        cmd += ["--time-scale", str(c.time_scale), "--generation-seconds", str(c.generation_seconds)]
        if c.training_seconds is not None:
            cmd += ["--training-seconds", str(c.training_seconds)]
        env = {**os.environ, "BRIA_API_TOKEN": self.token}  # never on the command line
        self._proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Bria emulator process failed to start")
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
            self._proc = None
        super().stop(timeout)

    def runtime(self) -> Any:
        raise RuntimeError("the emulator runs in another process: use its HTTP admin API")


@contextlib.contextmanager
def patched_env(**values: str | None) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def emulator(
    *,
    latency_ms: float = 0.0,
    rpm_cap: int | None = None,
    max_concurrent_jobs: int | None = None,
    time_scale: float = 1.0,
    training_seconds: float | None = None,
    generation_seconds: float = 10.0,
    client_rpm: float = 100_000.0,
    client_concurrency: int | None = None,
    wrap_app: Callable[[Any], Any] | None = None,
    process: bool = False,
) -> Iterator[BenchEmulator]:
    """Start an emulator with these caps and point BRIA_* at it (the flows' credentials=None path).

    ``process=True`` runs it as a separate process (see ``ProcessEmulator``).
    ``client_rpm`` is the client's BRIA_REQUESTS_PER_MINUTE: set it to the emulator's cap when there is
    one; with no cap it is set high, as the test suite does, so the governor never paces.
    """
    config = EmulatorConfig(
        api_token=TOKEN,
        time_scale=time_scale,
        training_seconds=training_seconds,
        generation_seconds=generation_seconds,
    )
    faults: dict[str, Any] = {"latency_ms": latency_ms}
    if rpm_cap is not None:
        faults["rpm_cap"] = rpm_cap
    if max_concurrent_jobs is not None:
        faults["max_concurrent_jobs"] = max_concurrent_jobs
    server = (ProcessEmulator if process else BenchEmulator)(config, faults)
    if wrap_app is not None:
        assert not process, "an ASGI wrapper needs the emulator in this process"
        server.app = wrap_app(server.app)  # before start(): uvicorn serves whatever .app is then
    with server:
        server.set_faults(faults)
        env = {
            "BRIA_API_TOKEN": TOKEN,
            "BRIA_BASE_URL": server.url,
            "BRIA_REQUESTS_PER_MINUTE": str(rpm_cap if rpm_cap is not None else client_rpm),
            "BRIA_MAX_CONCURRENCY": str(client_concurrency) if client_concurrency else None,
        }
        with patched_env(**env):
            yield server


def request_counts(emu: EmulatorServer) -> dict[str, int]:
    """Requests per operationId as the emulator saw them (429s included)."""
    return {op: v["requests"] for op, v in emu.stats()["operations"].items()}


# --- Prefect -------------------------------------------------------------------------------------


@contextlib.contextmanager
def prefect_harness(*, force_new: bool = False) -> Iterator[None]:
    """A Prefect test harness with heartbeats off; reuses one already running (pytest's session harness).

    The harness costs ~20 s to start on 2 cores, so ``bench.run`` starts one for every benchmark and the
    smoke tests reuse the one of ``tests/flows/conftest.py``.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        if PREFECT_API_URL.value() and not force_new:
            yield
            return
        from prefect.testing.utilities import prefect_test_harness

        # analytics off: the harness's server has no internet here, and its telemetry write races SQLite
        with (
            patched_env(PREFECT_SERVER_ANALYTICS_ENABLED="false"),
            prefect_test_harness(server_startup_timeout=120),
        ):
            yield


# --- alternation ---------------------------------------------------------------------------------


@dataclass
class Samples:
    runs: dict[str, list[dict[str, Any]]]

    def seconds(self, name: str) -> list[float]:
        return [r["seconds"] for r in self.runs[name]]

    def median(self, name: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in self.runs[name])

    def ratio(self, a: str, b: str) -> float:
        return self.median(a) / self.median(b)

    def summary(self) -> dict[str, Any]:
        return {
            name: {
                "median_s": round(self.median(name), 3),
                "runs_s": [round(s, 3) for s in self.seconds(name)],
            }
            for name in self.runs
        }


def alternate(
    variants: dict[str, Callable[[], dict[str, Any]]], rounds: int, warmup: int = 1, log: bool = True
) -> Samples:
    """Run A, B, A, B... (this machine is noisy: drift hits every variant alike); warm-up rounds dropped.

    Each variant returns a dict with at least ``seconds`` (timed by the variant itself, setup excluded).
    """
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for round_no in range(warmup + rounds):
        for name, fn in variants.items():
            sample = fn()
            if log:
                tag = "warm-up" if round_no < warmup else f"round {round_no - warmup + 1}"
                print(f"    {tag:8} {name:28} {sample['seconds']:8.3f} s", flush=True)
            if round_no >= warmup:
                runs[name].append(sample)
    return Samples(runs)


# --- peak RSS in a child process ------------------------------------------------------------------


def run_child(target: str, kwargs: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Run ``module:function(**kwargs)`` in a fresh interpreter; returns its JSON result (with peak RSS).

    A child process so the parent's emulator, images and Prefect do not count in the measured RSS.
    """
    cmd = [sys.executable, "-m", "bench._child", target, json.dumps(kwargs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{target} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def proc_status_kb(field_name: str) -> int | None:
    """VmRSS / VmHWM of this process in KiB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs), so the peak is the next step's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --- machine -------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    import prefect

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = proc_meminfo_gb()
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem:.0f} GB" if mem else "?",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "prefect": prefect.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def proc_meminfo_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    return None


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value
