"""A throwaway Prefect server on PostgreSQL, the database Prefect recommends for production.

Prefect's default SQLite answers 503 when two write transactions race (its own event persister against a
run's calls), and the Prefect client then waits 2 s before retrying: measured, two or three such waits per
dataset run (bench/RESULTS.md). A server on PostgreSQL does not do that, so the benchmarks run on one when
the machine has PostgreSQL (``python -m bench.run --prefect-db sqlite`` measures the default instead).

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port, and is removed afterwards.
As root, PostgreSQL's tools run as the ``postgres`` user (they refuse to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench._common import ROOT, patched_env


def postgres_bin() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``createdb`` (Debian's layout first: its PATH entries are
    wrappers that want a configured cluster), or None."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_db_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a PostgreSQL cluster with a ``prefect`` database; yields its SQLAlchemy URL."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL not found (initdb)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    data, port = tmp / "data", _free_port()
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(data, "postgres")

    def run(cmd: list[str]) -> None:
        done = subprocess.run(_as_db_user(cmd), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {(done.stderr or done.stdout)[-500:]}")

    try:
        run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "prefect"])
        options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1"
        run([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(tmp / "log"), "-w", "start"])
        try:
            run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "prefect", "prefect"])
            yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect"
        finally:
            subprocess.run(
                _as_db_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def prefect_server_on_postgres(startup_timeout: float = 180.0) -> Iterator[str]:
    """``prefect server start`` on a fresh PostgreSQL cluster; PREFECT_API_URL points at it meanwhile."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with postgres_cluster() as db_url, tempfile.TemporaryDirectory(prefix="bench-prefect-") as home:
        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            "PREFECT_HOME": home,
            "PREFECT_API_DATABASE_CONNECTION_URL": db_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
        }
        env.pop("PREFECT_API_URL", None)
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        log = open(Path(home) / "server.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Prefect server on PostgreSQL did not start")
                time.sleep(0.5)
            with (
                patched_env(PREFECT_API_URL=api),
                temporary_settings({PREFECT_API_URL: api, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
            ):
                yield api
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
