"""Flow runs in child processes (tests/reliability/flow_child.py) and waiting on what they leave behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from prefect.settings import PREFECT_API_URL

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(what: str, check: Callable[[], T], timeout: float = 120.0, every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
    return value


class FlowProcess:
    """A flow run in a child process; its output goes to a log file the test can read while it runs.

    The process starts (and imports Prefect and the flows, seconds on a busy machine) at once; the run
    begins when ``go(spec)`` hands it the flow and parameters.
    """

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        """``env``: the child's whole environment (default: ours, pointed at the session's Prefect server)."""
        self.log = log
        env = env or {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
        self._out = open(log, "w")  # noqa: SIM115 - closed in wait()/kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.flow_child"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def go(self, spec: dict) -> FlowProcess:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.close()
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def flow_run_id(self) -> str | None:
        found = re.search(r"^flow-run (\S+)$", self.output(), re.M)
        return found.group(1) if found else None

    def result(self) -> dict:
        found = re.search(r"^result (.+)$", self.output(), re.M)
        assert found, f"no result; the run said:\n{self.output()[-4000:]}"
        return json.loads(found.group(1))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no hook, no state change, nothing released."""
        self.proc.kill()
        self.proc.wait(30)
        self._out.close()

    def discard(self) -> None:
        """An unused, pre-started process: let it exit."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.wait(60)

    def wait(self, timeout: float = 240.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(30)
            self._out.close()
