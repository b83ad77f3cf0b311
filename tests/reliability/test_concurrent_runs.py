"""Row 17: two identical lifecycle runs started at once (a double click, overlapping schedules).

Bria has no idempotency keys, so without a cross-run lock both runs find no project and create one each,
upload every image twice and can start two trainings. ``tasks/locks.py`` serializes each find-or-create
section per resource key through a Prefect global concurrency limit; the run that waited then adopts what the
first one made. To make the race certain, the first run to look for the project is parked in the emulator
while it holds the project lock, until the other run is seen waiting for that lock.
"""

from __future__ import annotations

import pytest

from tests.reliability.figures import figure
from tests.reliability.processes import FlowProcess, wait_until
from tests.reliability.test_crash_resume import _lifecycle_parameters

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.timeout(600)]


def test_two_identical_runs_at_once_create_and_train_once(flow_bria, brand_dir, tmp_path):
    spec = {"flow": "lifecycle", "parameters": _lifecycle_parameters(brand_dir, tmp_path / "out")}
    flow_bria.set_faults({"rules": [{"op": "get-projects", "kind": "hold", "times": 1}]})
    runs = [FlowProcess(tmp_path / "a.log"), FlowProcess(tmp_path / "b.log")]
    try:
        for run in runs:
            run.go(spec)
        wait_until("one run inside the project lock", lambda: flow_bria.stats()["holds"]["waiting"], 180)
        wait_until(
            "the other run waiting for the project lock",
            lambda: any("waiting for lock bria-lock-project" in r.output() for r in runs),
            180,
        )
        flow_bria.release()
        codes = [run.wait(300) for run in runs]
    finally:
        for run in runs:
            if run.alive():
                run.kill()
    assert codes == [0, 0], [r.output()[-3000:] for r in runs]
    results = [run.result() for run in runs]
    assert results[0]["model_id"] == results[1]["model_id"]
    stats = flow_bria.stats()
    resources = {k: stats["resources"][k] for k in ("projects", "datasets", "models")}
    [dataset] = stats["datasets"].values()
    ops = stats["operations"]
    assert resources == {"projects": 1, "datasets": 1, "models": 1}
    assert stats["trainings_started"] == 1 and dataset == {**dataset, "images": 5, "duplicate_contents": 0}
    assert ops["upload-image"]["requests"] == 5 and ops["generate-visual-schema"]["requests"] == 1
    assert ops["image-generate-tailored"]["requests"] == 1  # the second run found the sample image saved
    figure(
        17,
        f"2 identical lifecycle runs at once: resources per key {resources}, trainings started "
        f"{stats['trainings_started']}, duplicate image contents {dataset['duplicate_contents']}, "
        f"uploads {ops['upload-image']['requests']}/5, credits spent {stats['credit_requests']} "
        "(1 schema, 1 training, 1 sample)",
    )
