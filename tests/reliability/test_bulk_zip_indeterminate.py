"""Row 24: the bulk ZIP POST commits, then its answer is lost (connection dropped, or a 500 after the commit).

Bria accepts one bulk attempt per dataset and refuses any second one, so the task must never POST again: it
reads ``/bulk-upload/status`` and follows that to the end, and a re-run only reads it too.
"""

from __future__ import annotations

import httpx
import pytest

from tasks.datasets import bulk_upload_zip
from tests.reliability.conftest import TOKEN, client_for
from tests.reliability.figures import figure

pytestmark = pytest.mark.usefixtures("prefect_harness")

ZIP_URL = "https://bucket.example.com/brand-set.zip"


@pytest.mark.parametrize(
    "fault",
    [{"kind": "commit_then_drop"}, {"kind": "status", "code": 500, "commit": True}],
    ids=["commit_then_drop", "commit_then_500"],
)
async def test_row24_lost_bulk_answer_is_read_back_never_reposted(flow_bria, fault):
    async with client_for(flow_bria) as bria:
        project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
        dataset = (await bria.datasets.create(project.id, "big set", upload_type="advanced")).id
    flow_bria.set_faults({"rules": [{"op": "bulk-upload-images", "times": 1, **fault}]})
    state = await bulk_upload_zip(dataset, ZIP_URL, poll_seconds=0.05)
    again = await bulk_upload_zip(dataset, ZIP_URL, poll_seconds=0.05)  # a re-run only reads the status
    served = httpx.get(
        f"{flow_bria.url}/v1/tailored-gen/datasets/{dataset}/images/bulk-upload/status",
        headers={"api_token": TOKEN},
    ).json()
    stats = flow_bria.stats()
    posts = stats["operations"]["bulk-upload-images"]["requests"]
    figure(
        24,
        f"bulk ZIP POST {'500 after commit' if fault.get('code') else 'committed, connection dropped'}: "
        f"bulk POSTs per dataset {posts} "
        f"(attempts seen by Bria {stats['datasets'][str(dataset)]['bulk_attempts']}), final status "
        f"{state.status.value} ({state.done} done, {state.failed} failed) read from the status endpoint; re-run "
        f"POSTs 0",
    )
    assert posts == stats["datasets"][str(dataset)]["bulk_attempts"] == 1
    assert state.status == again.status == served["status"] == "completed"
    assert state.done == served["done"] > 0
