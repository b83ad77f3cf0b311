"""Row 10: malformed and drifted responses. Garbage becomes a typed error with Bria's request id, at once (no
retry loop); unknown fields and a wrong Content-Type on a good body are tolerated; an unknown status is never
taken for success: polling goes on, with a warning, until a status it knows.
"""

from __future__ import annotations

import logging

import pytest

from bria_api import BriaClient, BriaResponseError
from bria_api.models import GenerateLiteRequest
from bria_api.polling import PollSchedule
from tests.conftest import TOKEN
from tests.imagegen import distinct_images
from tests.reliability.figures import figure

GARBAGE = {  # fault rule on get-project-by-id -> what the error must say
    "truncated JSON": ({"kind": "truncate"}, "malformed JSON"),
    "HTML under 200": ({"kind": "html", "code": 200}, "HTML"),
    "missing id": ({"kind": "schema_drift", "drop_fields": ["id"]}, "unexpected response shape"),
    "missing project_name": (
        {"kind": "schema_drift", "drop_fields": ["project_name"]},
        "unexpected response shape",
    ),
}


async def test_row10_garbage_responses_become_typed_errors_with_the_request_id(bria, emulator):
    """Row 10: truncated JSON, HTML under 200, missing fields: BriaResponseError naming the request, one attempt."""
    outcomes = {}
    for case, (rule, says) in GARBAGE.items():
        emulator.reset()
        project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
        emulator.set_faults({"rules": [{"op": "get-project-by-id", **rule}]})
        with pytest.raises(BriaResponseError) as info:
            await bria.projects.get(project.id)
        attempts = emulator.stats()["operations"]["get-project-by-id"]["requests"]
        [logged] = [e for e in emulator.requests() if e["op"] == "get-project-by-id"]
        outcomes[case] = (type(info.value).__name__, attempts)
        assert says in str(info.value) and info.value.request_id and attempts == 1
        assert logged["status"] == 200  # the server said "fine": only the body was wrong
    figure(10, f"{len(outcomes)} garbage cases -> {outcomes}; unhandled exceptions 0")


async def test_row10_unknown_fields_and_a_wrong_content_type_are_tolerated(bria, emulator):
    """Row 10: extra fields on every object, and good JSON labelled text/html, parse; extras are kept."""
    project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
    dataset = await bria.datasets.create(project.id, "d")
    model = await bria.models.create("m", dataset.id)
    emulator.set_faults(
        {
            "rules": [
                {"op": "get-*", "kind": "extra_fields", "fields": {"tier": "gold", "x_new": {"nested": [1]}}},
                {
                    "op": "get-*",
                    "kind": "delay_headers",
                    "headers": {"content-type": "text/html; charset=utf-8"},
                },
            ]
        }
    )
    reads = {
        "projects": await bria.projects.list(),
        "project": await bria.projects.get(project.id),
        "dataset": await bria.datasets.get(dataset.id),
        "model": await bria.models.get(model.id),
        "models": await bria.models.list(),
    }
    kept = {name: (r[0] if isinstance(r, list) else r).model_extra.get("tier") for name, r in reads.items()}
    figure(10, f"extra fields + text/html Content-Type on {len(reads)} reads: all parsed, extras kept {kept}")
    assert set(kept.values()) == {"gold"}


async def test_row10_unknown_job_status_keeps_polling_and_is_never_success(bria, emulator, caplog):
    """Row 10: a v2 job reports a status this client does not know (3 polls): it keeps polling, warns, and
    returns only the real COMPLETED."""
    emulator.set_faults(
        {"rules": [{"op": "get_status", "kind": "schema_drift", "status_value": "QUEUED", "times": 3}]}
    )
    caplog.set_level(logging.WARNING, "bria_api.generation")
    state = await bria.generation.generate(GenerateLiteRequest(prompt="a mug", seed=1))
    polls = emulator.stats()["operations"]["get_status"]["requests"]
    warnings = [r for r in caplog.records if "unknown status" in r.getMessage()]
    figure(
        10,
        f"v2 job: 3 polls said 'QUEUED', {polls} polls in all, {len(warnings)} warnings, false COMPLETED 0",
    )
    assert state.status == "COMPLETED" and state.result and state.result.image_url
    assert polls >= 4 and len(warnings) == 3


async def _warnings_of(task_run_id, want: int, timeout: float = 15.0) -> list[str]:
    """The task run's WARNING logs, read back from the Prefect API (they arrive in batches: wait, bounded)."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterLevel, LogFilterTaskRunId

    log_filter = LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id]), level=LogFilterLevel(ge_=30))
    deadline = asyncio.get_running_loop().time() + timeout
    async with get_client() as prefect:
        while True:
            messages = [log.message for log in await prefect.read_logs(log_filter)]
            if len(messages) >= want or asyncio.get_running_loop().time() > deadline:
                return messages
            await asyncio.sleep(0.2)


async def _training_model(bria: BriaClient) -> int:
    project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
    dataset = await bria.datasets.create(project.id, "d")
    await bria.datasets.update(dataset.id, visual_schema='{"style": "studio"}')
    for i, data in enumerate(distinct_images(5, size=320)):
        await bria.images.upload(dataset.id, data, image_name=f"img-{i}.png")
    await bria.datasets.complete(dataset.id)
    model = await bria.models.create("m", dataset.id)
    await bria.models.start_training(model.id)
    return model.id


@pytest.mark.usefixtures("prefect_harness")
async def test_row10_unknown_training_status_is_polled_through_never_completed(bria, emulator, monkeypatch):
    """Row 10: the training task meets 'Queued' and 'Paused' (not in the spec): it waits on, and completes only
    on Bria's Completed; a model stuck in an unknown status times out, never succeeds."""
    from tasks.training import wait_for_training

    monkeypatch.setenv("BRIA_API_TOKEN", TOKEN)
    monkeypatch.setenv("BRIA_BASE_URL", emulator.url)
    quick = PollSchedule(initial=0.01, maximum=0.02)
    model_id = await _training_model(bria)
    script = ["InProgress", "Queued", "Paused", "InProgress", "Completed"]
    emulator.set_faults({"model_status_script": {str(model_id): script}})
    state = await wait_for_training(model_id, schedule=quick, expected_seconds=3600, return_state=True)
    done = await state.aresult()
    polls = emulator.stats()["operations"]["get-model"]["requests"]
    warnings = await _warnings_of(state.state_details.task_run_id, want=2)
    stuck_id = await _training_model(bria)
    emulator.set_faults({"model_status_script": {str(stuck_id): ["Queued"]}})
    outcome = "no outcome"
    try:
        await wait_for_training(stuck_id, schedule=quick, max_wait_seconds=0.3, expected_seconds=3600)
        outcome = "Completed"
    except Exception as exc:  # noqa: BLE001 - the row counts what the wait ended with
        outcome = type(exc).__name__
    figure(
        10,
        f"training script {script}: {polls} polls, {len(warnings)} warnings, ended {done.status.value}; stuck in 'Queued' -> {outcome}; "
        "false Completed 0",
    )
    assert done.status == "Completed" and polls == len(script)
    assert [w for w in warnings if "unknown status 'Queued'" in w] and [
        w for w in warnings if "'Paused'" in w
    ]
    assert outcome == "TrainingWaitTimeout"
