"""Row 3 (5xx bursts, incl. committed POSTs) with rows 5/6 mixed in: the whole lifecycle under seeded faults.

Every run: 20 % 5xx, 10 % 429 (half with Retry-After), 5 % connection resets, commit-then-drop and
commit-then-500 on every reconcilable write, latency spikes. Each must complete with exactly one project,
dataset, model and training, its 5 images once each, and every generated image paid once, saved and
verified against what Bria serves.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.reliability.conftest import TOKEN
from tests.reliability.faulted_lifecycle import SAMPLES, BatchAudit, run_batch
from tests.reliability.figures import figure

pytestmark = pytest.mark.usefixtures("prefect_harness", "fast_backoff")


async def _batches(flow_bria, brand_dir, tmp_path, seeds: range, size: int) -> list[BatchAudit]:
    batches = []
    for seed in seeds:
        batch = await run_batch(flow_bria, TOKEN, brand_dir, tmp_path / str(seed), seed, size)
        assert [r for r in batch.runs if not r.as_expected] == []
        assert batch.trainings_started == size  # one training per lifecycle
        assert batch.submits_accepted == size * len(SAMPLES)  # one paid generation per image
        batches.append(batch)
    return batches


def _report(batches: list[BatchAudit]) -> None:
    runs = [r for b in batches for r in b.runs]
    sent, answered = sum(b.sent for b in batches), sum(b.answered for b in batches)
    fired = sum((b.faults for b in batches), start=Counter())
    figure(
        3,
        f"{sum(r.as_expected for r in runs)}/{len(runs)} lifecycles complete under mixed faults; duplicates "
        f"{sum(r.duplicates for r in runs)} (projects/datasets/models/images), trainings "
        f"{sum(b.trainings_started for b in batches)}, paid generations {sum(b.submits_accepted for b in batches)} "
        f"for {len(runs) * len(SAMPLES)} images, checksums verified {sum(r.checksums_ok for r in runs)}; "
        f"attempts/op {sent / answered:.2f} ({sent} requests, {answered} answered); faults fired "
        f"{dict(sorted(fired.items()))}",
    )


@pytest.mark.timeout(300)
async def test_lifecycles_complete_under_mixed_faults(flow_bria, brand_dir, tmp_path):
    _report(await _batches(flow_bria, brand_dir, tmp_path, range(1), size=2))


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_twenty_lifecycles_complete_under_mixed_faults(flow_bria, brand_dir, tmp_path):
    _report(await _batches(flow_bria, brand_dir, tmp_path, range(100, 105), size=4))
