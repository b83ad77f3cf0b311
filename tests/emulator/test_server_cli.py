"""Embedding surface: EmulatorServer, create_app in-process, config resolution, and the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bria_emulator import EmulatorConfig, EmulatorServer, FaultProfile, create_app
from bria_emulator.app import operation_ids
from bria_emulator.config import DEFAULT_TOKEN

REPO = Path(__file__).resolve().parents[2]


def test_token_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIA_API_TOKEN", raising=False)
    assert EmulatorConfig().resolved_token() == DEFAULT_TOKEN
    monkeypatch.setenv("BRIA_API_TOKEN", "from-env")
    assert EmulatorConfig().resolved_token() == "from-env"
    assert EmulatorConfig(api_token="explicit").resolved_token() == "explicit"
    assert "explicit" not in repr(EmulatorConfig(api_token="explicit"))


def test_fault_spec_parsing(tmp_path: Path) -> None:
    spec = {"seed": 2, "rules": [{"op": "create-project", "kind": "reset", "times": 1}], "rpm_cap": 10}
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(spec))
    assert FaultProfile.parse_spec(f"@{path}") == FaultProfile.parse_spec(json.dumps(spec))
    with pytest.raises(ValueError):
        FaultProfile.parse_spec('{"rules": [{"kind": "reset", "typo": 1}]}')


def test_all_operations_served_with_spec_operation_ids() -> None:
    ids = set(operation_ids(create_app()))
    assert len(ids) == 45  # 38 tailored `paths` + upload-model (stray block) + 5 image generation + status
    assert {"create-project", "download-dataset", "image-generate-lite", "get_status", "upload-model"} <= ids


async def test_in_process_asgi_transport() -> None:
    app = create_app(EmulatorConfig(api_token="t"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers={"api_token": "t"}
    ) as c:
        created = await c.post(
            "/v1/tailored-gen/projects",
            json={"project_name": "x", "ip_medium": "photography", "ip_type": "other"},
        )
        assert created.status_code == 201 and len(created.headers["x-request-id"]) == 32
        job = (await c.post("/v2/image/generate/lite", json={"prompt": "x"})).json()
        assert job["status_url"].startswith("http://emulator/v2/status/")
    assert app.state.runtime.stats.snapshot(app.state.runtime.store)["resources"]["projects"] == 1


def test_server_context_manager_and_time_scale() -> None:
    with EmulatorServer(EmulatorConfig(time_scale=3600, training_seconds=3600)) as emu:
        assert emu.url.startswith("http://127.0.0.1:") and emu.port > 0
        clock = httpx.get(f"{emu.url}/_emulator/clock").json()
        assert clock["time_scale"] == 3600
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{emu.url}/_emulator/clock")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serves_and_never_prints_the_token(tmp_path: Path) -> None:
    token = "cli-canary-token-5f1c"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BRIA_API_TOKEN", "BRIA_EMULATOR_FAULTS")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bria_emulator",
            "--port",
            str(port),
            "--api-token-file",
            str(token_file),
            "--time-scale",
            "3600",
            "--faults",
            '{"rules": [{"op": "get-projects", "kind": "extra_fields"}]}',
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/tailored-gen/projects"
        response = None
        for _ in range(200):
            try:
                response = httpx.get(url, headers={"api_token": token})
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert response is not None and response.status_code == 200 and response.json() == []
        assert httpx.get(url, headers={"api_token": "nope"}).status_code == 401
        assert token not in " ".join(proc.args)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert token not in out + err and "token from config" in err
