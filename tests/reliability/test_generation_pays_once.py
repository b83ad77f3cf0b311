"""Never pay twice for a generation: failures after the submit resume the job, they never resubmit it.

The bug this guards against: a status poll answered 429 (or 5xx) after a successful submit failed the task,
and the Prefect retry submitted the generation again (503 credits for 500 images in the batch benchmark).
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from PIL import Image
from prefect import flow

from bria_api.models import TailoredImageRequest
from tasks.generation import SubmitOutcomeUnknown, SubmittedJobError, generate_tailored_image
from tests.reliability.conftest import TOKEN, trained_model
from tests.reliability.figures import figure

pytestmark = pytest.mark.usefixtures("prefect_harness")

PROMPTS = ["a mug at dawn", "a mug at night", "a mug in the rain"]


@flow(name="generate-sequentially")
async def generate_sequentially(model_id: int, out_dir) -> list:
    """The tailored generation task one image at a time (a deterministic request order for the faults),
    retried at once instead of after Prefect's 5 s / 30 s delays."""
    task = generate_tailored_image.with_options(retry_delay_seconds=0)
    return [
        await task(
            TailoredImageRequest(tailored_model_id=str(model_id), prompt=p, seed=i), out_dir, f"img{i}"
        )
        for i, p in enumerate(PROMPTS)
    ]


def _served_bytes(emulator, request_id: str) -> bytes:
    headers = {"api_token": TOKEN}
    state = httpx.get(f"{emulator.url}/v2/status/{request_id}", headers=headers).json()
    return httpx.get(state["result"]["image_url"]).content


async def test_status_poll_failures_resume_the_job_instead_of_paying_again(flow_bria, tmp_path, monkeypatch):
    model_id = await trained_model(flow_bria)
    monkeypatch.setenv("BRIA_MAX_RETRIES", "1")  # one client retry, so the task-level retry is reached
    flow_bria.set_faults(
        {
            "rules": [
                # image 0: both poll attempts 429 (without and with Retry-After) -> RateLimitedError
                {"op": "get_status", "kind": "status", "code": 429, "times": 1},
                {
                    "op": "get_status",
                    "kind": "status",
                    "code": 429,
                    "retry_after_ms": 20,
                    "after": 1,
                    "times": 1,
                },
                # image 1: 500 then 503 (server errors: the job's state is unknown, it may be done)
                {"op": "get_status", "kind": "status", "code": 500, "after": 3, "times": 1},
                {"op": "get_status", "kind": "status", "code": 503, "after": 4, "times": 1},
                # image 2: a 502 the client retries by itself
                {"op": "get_status", "kind": "status", "code": 502, "after": 6, "times": 1},
            ]
        }
    )
    out = tmp_path / "out"
    files = await generate_sequentially(model_id, out)

    stats = flow_bria.stats()
    submits = stats["operations"]["image-generate-tailored"]["requests"]
    polls = stats["operations"]["get_status"]["by_status"]
    figure(
        3,
        f"generation under status-poll 429/5xx + task retries: submits per image = {submits / len(PROMPTS):.2f}, "
        f"credits = {stats['credit_requests'] - 1} for {len(PROMPTS)} images, poll answers {polls}",
    )
    assert submits == len(PROMPTS) and stats["credit_requests"] == len(PROMPTS) + 1  # +1: the training
    assert sum(polls[c] for c in ("429", "500", "502", "503")) == 5  # every fault fired
    assert [f.reused for f in files] == [False] * 3
    assert sorted(p.name for p in out.iterdir()) == sorted(
        n for f in files for n in (f.path.name, f.sidecar.name)
    )  # no pending marker left behind, nothing else written
    for f in files:
        data = f.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256 == json.loads(f.sidecar.read_text())["sha256"]
        Image.open(f.path).verify()
        assert data == _served_bytes(flow_bria, f.request_id)


async def test_rerun_after_a_failed_wait_resumes_the_pending_job(flow_bria, tmp_path, monkeypatch):
    """The run dies while waiting (every poll refused): the re-run waits on the same request, pays nothing."""
    model_id = await trained_model(flow_bria)
    monkeypatch.setenv("BRIA_MAX_RETRIES", "0")
    request = TailoredImageRequest(tailored_model_id=str(model_id), prompt="a mug", seed=3)
    flow_bria.set_faults({"rules": [{"op": "get_status", "kind": "status", "code": 503}]})
    no_retry = generate_tailored_image.with_options(retries=0)
    with pytest.raises(SubmittedJobError, match="a retry resumes it"):
        await no_retry(request, tmp_path, "one")
    (marker,) = tmp_path.glob("*.pending")
    flow_bria.set_faults({})
    result = await no_retry(request, tmp_path, "one")
    assert not marker.exists()  # cleared once the image is saved
    assert result.request_id is not None and not result.reused
    assert flow_bria.stats()["operations"]["image-generate-tailored"]["requests"] == 1
    assert (await no_retry(request, tmp_path, "one")).reused  # and a third run reuses the file
    assert flow_bria.stats()["operations"]["image-generate-tailored"]["requests"] == 1


@pytest.mark.parametrize(
    "fault",
    [{"kind": "status", "code": 500}, {"kind": "commit_then_drop"}],
    ids=["500", "commit_then_drop"],
)
async def test_ambiguous_generation_submit_is_not_resent(flow_bria, tmp_path, fault):
    """A submit whose answer is lost may have been paid for, and there is no request id to look up: the task
    fails saying so instead of resending (Prefect's retries included)."""
    model_id = await trained_model(flow_bria)
    flow_bria.set_faults({"rules": [{"op": "image-generate-tailored", "times": 1, **fault}]})
    request = TailoredImageRequest(tailored_model_id=str(model_id), prompt="a mug", seed=4)
    with pytest.raises(SubmitOutcomeUnknown, match="may have accepted and charged it, so it is not resent"):
        await generate_tailored_image.with_options(retry_delay_seconds=0)(request, tmp_path, "one")
    stats = flow_bria.stats()
    sends = stats["operations"]["image-generate-tailored"]["requests"]
    figure(
        3,
        f"generation submit answered {fault.get('code', 'with a dropped connection')}: sends {sends}, "
        f"credits spent {stats['credit_requests'] - 1}; the task fails 'not resent' instead of paying twice",
    )
    assert sends == 1
    assert not list(tmp_path.iterdir())  # no marker, no file: a deliberate re-run submits anew
