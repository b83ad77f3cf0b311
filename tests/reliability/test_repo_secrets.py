"""Row 27 (repository side): detect-secrets finds nothing in the tracked files beyond the audited test
fixtures listed in ``.secrets.baseline`` (a published signature vector, fake keys, a canary)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.figures import figure

ROOT = Path(__file__).resolve().parents[2]


def _key(finding: dict) -> tuple[str, str, str]:
    return finding["filename"], finding["type"], finding["hashed_secret"]  # line numbers move with edits


@pytest.mark.slow  # ~10-20 s: detect-secrets reads every tracked file
def test_row27_detect_secrets_finds_nothing_new_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = [f for f in tracked.split() if f != ".secrets.baseline"]  # its own hashes are not secrets
    scanner = Path(sys.executable).parent / "detect-secrets"
    out = subprocess.run([str(scanner), "scan", *files], cwd=ROOT, capture_output=True, text=True, check=True)
    found = {_key(f) for findings in json.loads(out.stdout)["results"].values() for f in findings}
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())["results"]
    audited = {_key(f) for findings in baseline.values() for f in findings if f.get("is_secret") is False}
    new = sorted(found - audited)
    figure(
        27,
        f"detect-secrets over {len(files)} tracked files: {len(found)} findings, all audited test fixtures "
        f"in .secrets.baseline; new {len(new)}",
    )
    assert not new, new
