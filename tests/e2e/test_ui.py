"""The Prefect UI in a real browser: fill the lifecycle deployment's custom-run form, start it, see it finish.

Uses Debian's Chromium through Playwright (no browser download); skipped with a reason where either is missing.
The screenshot of the finished run is saved under the test's output folder (BRIA_FLOWS_UPDATE_DOCS=1 also
copies it to docs/ for the README).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from deployments.sample_data import synthesize_dataset
from tests.e2e.conftest import _state, _wait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _field(page, label: str):
    """The textarea/input whose form group is titled ``label`` (Prefect's form has no <label for>)."""
    return (
        page.locator(
            f"xpath=//*[normalize-space(text())='{label}']/ancestor::div[.//textarea or .//input][1]"
        )
        .locator("textarea, input")
        .first
    )


def _runs_of(api: str, deployment_id: str) -> set[str]:
    body = {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200}
    return {r["id"] for r in httpx.post(f"{api}/flow_runs/filter", json=body).json()}


def test_start_the_lifecycle_from_the_custom_run_form(stack, tmp_path):
    images = tmp_path / "images"
    synthesize_dataset(images)
    out = tmp_path / "out"
    api = stack["api"]
    ui = api.removesuffix("/api")
    deployment = httpx.get(f"{api}/deployments/name/tailored-lifecycle/lifecycle").json()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{ui}/deployments/deployment/{deployment['id']}/run", wait_until="networkidle")
        _field(page, "Project Name").wait_for(state="visible", timeout=60_000)
        _field(page, "Project Name").fill("ui")
        _field(page, "Name").fill("ui-ds")
        _field(page, "Images Dir").fill(str(images))
        _field(page, "Caption Poll Seconds (Optional)").fill("0.5")
        _field(page, "Model Name").fill("ui-model")
        _field(page, "out_dir (Optional)").fill(str(out))
        assert _field(page, "Images Dir").input_value() == str(images)
        before = _runs_of(api, deployment["id"])
        page.keyboard.press("Tab")  # commit the last field before submitting
        page.get_by_role("button", name="Submit").click()
        try:  # the outcome that matters is the run on the server, not the UI's toast
            [run_id] = _wait(
                "the submitted run", lambda: _runs_of(api, deployment["id"]) - before, timeout=90
            )
        except AssertionError:
            page.screenshot(path=str(tmp_path / "after-submit.png"), full_page=True)
            raise AssertionError(
                f"no run was created; the page said: {page.inner_text('body')[:3000]}"
            ) from None
        # suspend mode (the deployment default): resume it the way production does, through the watcher
        _wait("the run to suspend", lambda: _state(stack, run_id) == ("PAUSED", "Suspended"), timeout=240)
        stack["emulator"].advance(5 * 3600)
        dep = httpx.get(f"{api}/deployments/name/training-watcher/training-watcher").json()
        httpx.post(f"{api}/deployments/{dep['id']}/create_flow_run", json={"parameters": {}})
        final = _wait(
            "the run to finish",
            lambda: (s := _state(stack, run_id))[0] in ("COMPLETED", "FAILED", "CRASHED") and s,
            240,
        )
        assert final[0] == "COMPLETED", final
        page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")
        page.get_by_text("Completed").first.wait_for(timeout=30_000)
        shot = tmp_path / "lifecycle-run.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000 and len(list(out.glob("*.png"))) == 2
    if os.environ.get("BRIA_FLOWS_UPDATE_DOCS"):  # refresh the README's screenshot on demand
        shutil.copy(shot, Path(__file__).resolve().parents[2] / "docs" / "lifecycle-run.png")
