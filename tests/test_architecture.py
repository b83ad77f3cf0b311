"""Layering rules: the client never imports Prefect or the emulator; the emulator never imports the client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(out.stdout.split())


def test_client_imports_neither_prefect_nor_emulator():
    loaded = _modules_after_import("bria_api")
    assert not {m for m in loaded if m == "prefect" or m.startswith("prefect.")}
    assert "bria_emulator" not in loaded


def test_emulator_is_an_independent_reading_of_the_spec():
    loaded = _modules_after_import("bria_emulator.app")
    assert "bria_api" not in loaded


@pytest.mark.parametrize("package", ["bria_api", "bria_emulator", "tasks", "flows", "deployments"])
def test_modules_are_small_enough_to_read_in_one_sitting(package):
    for path in (ROOT / package).rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines"


def test_production_code_never_imports_the_emulator():
    for package in ("bria_api", "tasks", "flows"):
        for path in (ROOT / package).rglob("*.py"):
            assert "bria_emulator" not in path.read_text(), f"{path.relative_to(ROOT)} imports the emulator"
