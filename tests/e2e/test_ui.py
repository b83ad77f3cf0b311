"""The Prefect UI in a real browser: fill the lifecycle deployment's custom-run form, start it, see it finish;
approve a golden gallery from its Resume form.

Uses Debian's Chromium through Playwright (no browser download); skipped with a reason where either is missing.
The screenshots (the finished run, the gallery artifact) are saved under the test's output folder
(BRIA_FLOWS_UPDATE_DOCS=1 also copies them to docs/ for the README).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import httpx
import pytest

from deployments.sample_data import synthesize_dataset
from flows.golden import DEFAULT_GOLDEN_PROMPTS, load_golden
from tests.e2e.conftest import _run_deployment, _state, _wait, _wait_suspended

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.slow,  # a real server, worker and browser: minutes
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
        _wait_suspended(stack, run_id)
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


def _trained_models(emu, count: int) -> list[int]:
    """Completed models on one 5-image dataset, made straight through the emulator's API."""
    from pydantic import SecretStr

    from bria_api import BriaClient, BriaSettings
    from tests.api_setup import completed_dataset, started_models

    async def make() -> list[int]:
        settings = BriaSettings(api_token=SecretStr(emu.token), base_url=emu.url, requests_per_minute=6000)
        async with BriaClient(settings) as bria:
            return await started_models(bria, await completed_dataset(bria, "gallery", "gallery v1"), count)

    ids = asyncio.run(make())
    emu.advance(6 * 3600)
    return ids


def test_approve_a_golden_gallery_in_the_ui(stack, tmp_path):
    """The gallery deployment suspends with the side-by-side artifact; Resume in the UI with approve ticked
    moves the promoted alias; the artifact page is the README's screenshot."""
    api = stack["api"]
    ui = api.removesuffix("/api")
    first, second = _trained_models(stack["emulator"], 2)
    alias = {"model_id": first, "promoted_at": "2025-06-01T00:00:00Z", "reason": "the first brand model"}
    httpx.post(f"{api}/variables/", json={"name": "bria-promoted-model", "value": alias}).raise_for_status()
    run_id = _run_deployment(
        stack, "golden-gallery/golden-gallery", {"model_id": second, "out_dir": str(tmp_path / "gallery")}
    )
    _wait("the gallery to wait for a decision", lambda: _state(stack, run_id) == ("PAUSED", "Suspended"), 240)
    body = {"artifacts": {"key": {"any_": [f"golden-gallery-{second}"]}, "flow_run_id": {"any_": [run_id]}}}
    [art] = httpx.post(f"{api}/artifacts/filter", json=body).json()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1250})
        page.goto(f"{ui}/artifacts/artifact/{art['id']}", wait_until="networkidle")
        thumbs = page.locator("img[src^='data:image/jpeg']")
        thumbs.first.wait_for(timeout=60_000)
        page.wait_for_function(  # every thumbnail decoded and drawn
            "() => [...document.images].filter(i => i.src.startsWith('data:')).every(i => i.naturalWidth > 0)"
        )
        thumbnails = thumbs.count()
        shot = tmp_path / "gallery-artifact.png"
        page.screenshot(path=str(shot), full_page=True)
        page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")  # the decision, as a person
        page.get_by_role("button", name="Resume").first.click()
        page.get_by_text("Approve", exact=False).first.wait_for(timeout=30_000)
        page.locator("input[type='checkbox'], [role='switch']").first.check()
        page.get_by_role("button", name="Submit").click()
        final = _wait(
            "the resumed gallery to finish",
            lambda: (s := _state(stack, run_id))[0] in ("COMPLETED", "FAILED", "CRASHED") and s,
            240,
        )
        browser.close()
    assert final[0] == "COMPLETED", final
    prompts = len(load_golden(DEFAULT_GOLDEN_PROMPTS).prompts)
    assert thumbnails == 2 * prompts  # every golden prompt: promoted, candidate
    promoted = httpx.get(f"{api}/variables/name/bria-promoted-model").json()["value"]
    assert (promoted["model_id"], promoted["previous_model_id"]) == (second, first)
    if os.environ.get("BRIA_FLOWS_UPDATE_DOCS"):
        shutil.copy(shot, Path(__file__).resolve().parents[2] / "docs" / "gallery-artifact.png")
