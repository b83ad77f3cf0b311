"""The CLI as a user runs it: subprocesses against the emulator and the session's Prefect server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prefect.settings import PREFECT_API_URL

from tests.flows.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def bria_flows(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=300,
    )


def test_lint_names_each_bad_file_and_exits_1(tmp_path, image_dir):
    (image_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    (image_dir / "notes.gif").write_bytes(b"GIF89a" + b"\x00" * 20)
    result = bria_flows("lint", str(image_dir))
    assert result.returncode == 1
    assert "broken.png" in result.stdout and "notes.gif" in result.stdout and "error" in result.stdout


def test_generate_lite_and_tailored_write_images_with_sidecars(bria_env, tmp_path):
    env = {"PREFECT_API_URL": PREFECT_API_URL.value()}
    lite = bria_flows("generate", "--lite", "-p", "a red bicycle", "--out", str(tmp_path), env=env)
    assert lite.returncode == 0, lite.stderr[-2000:]
    [image] = [Path(line) for line in lite.stdout.split() if line.endswith(".png")]
    sidecar = json.loads(image.with_suffix(".json").read_text())
    assert sidecar["operation"] == "image-generate-lite" and sidecar["prompt"] == "a red bicycle"
    assert TOKEN not in lite.stdout + lite.stderr
    missing = bria_flows("generate", "--out", str(tmp_path), env=env)
    assert missing.returncode != 0 and "--model-id" in missing.stderr


def test_no_flag_takes_the_bria_token():
    for command in ("demo", "train", "generate"):
        help_text = bria_flows(command, "--help").stdout
        assert "--token-file" in help_text and "--api-token" not in help_text
