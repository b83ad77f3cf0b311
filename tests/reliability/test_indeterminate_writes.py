"""Rows 6 and 7: every mutating step of the lifecycle with its answer lost after Bria committed it.

Row 6: the connection drops right after the commit (``commit_then_drop``). Row 7: the answer comes after the
client's read timeout (``delay_headers``). Either way the client cannot know what happened: creates and
uploads look Bria up and adopt what they find, idempotent PUTs are sent again, start-training reads the model.
Each step runs twice, clean and faulted, through the same reconciling code the tasks use; the difference
between the two runs is the cost of an incident. Row 3's per-answer rules (what a 5xx allows) close the file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bria_api import BriaClient, BriaError, BriaSettings, reconcile
from bria_api.manifest import build_manifest
from tests.conftest import TOKEN
from tests.imagegen import distinct_images
from tests.reliability.figures import figure

Action = Callable[[BriaClient, dict], Awaitable[Any]]


async def _project(bria: BriaClient, ctx: dict) -> None:
    project, _ = await reconcile.ensure_project(bria, "Brand", ip_medium="photography", ip_type="other")
    ctx["project"] = project.id


async def _dataset(bria: BriaClient, ctx: dict) -> None:
    ctx["dataset"] = (await reconcile.ensure_dataset(bria, ctx["project"], "brand v1"))[0].id


async def _schema(bria: BriaClient, ctx: dict) -> None:
    await bria.datasets.update(ctx["dataset"], visual_schema='{"style": "studio"}')


async def _upload(bria: BriaClient, ctx: dict) -> None:
    await reconcile.upload_missing(bria, ctx["dataset"], ctx["manifest"], concurrency=1)


async def _captions(bria: BriaClient, ctx: dict) -> None:
    await bria.images.regenerate_captions(ctx["dataset"])


async def _complete(bria: BriaClient, ctx: dict) -> None:
    await reconcile.ensure_completed(bria, ctx["dataset"])


async def _model(bria: BriaClient, ctx: dict) -> None:
    ctx["model"] = (await reconcile.ensure_model(bria, ctx["project"], ctx["dataset"], "brand model"))[0].id


async def _train(bria: BriaClient, ctx: dict) -> None:
    await reconcile.ensure_training(bria, ctx["model"])


# (step, the operation whose answer is lost, what the step does)
STEPS: list[tuple[str, str, Action]] = [
    ("create project", "create-project", _project),
    ("create dataset", "create-dataset", _dataset),
    ("visual schema", "update-dataset", _schema),
    ("upload image", "upload-image", _upload),
    ("caption regen", "regenerate-all-captions", _captions),
    ("complete dataset", "update-dataset", _complete),
    ("create model", "create-model", _model),
    ("start training", "start-training", _train),
]
RECONCILED = ("create project", "create dataset", "upload image", "create model", "start training")


@dataclass
class StepRun:
    sends: int  # requests of the faulted operation
    reads: int  # GETs the step made


class TimedHTTP(httpx.AsyncHTTPTransport):
    """The real HTTP transport, recording how long each attempt waited for its answer."""

    def __init__(self) -> None:
        super().__init__()
        self.walls: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        try:
            return await super().handle_async_request(request)
        finally:
            self.walls.append(time.monotonic() - started)


async def _run_steps(emulator, tmp_path, sleeps, rule: dict | None, **timeouts: float) -> dict[str, Any]:
    """All steps in order, each under ``rule`` aimed at its operation (once); what each step sent."""
    emulator.reset()
    folder = tmp_path / f"images-{bool(rule)}"
    folder.mkdir(exist_ok=True)
    for i, data in enumerate(distinct_images(5, size=320)):
        (folder / f"img-{i}.png").write_bytes(data)
    settings = BriaSettings(
        api_token=SecretStr(TOKEN),
        base_url=emulator.url,
        requests_per_minute=60_000,
        max_retries=4,
        **timeouts,
    )
    http = TimedHTTP()
    ctx: dict = {"manifest": build_manifest(folder)}
    runs: dict[str, StepRun] = {}
    async with (
        httpx.AsyncClient(
            transport=http,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout, read=settings.read_timeout, write=10, pool=10
            ),
        ) as client,
        BriaClient(settings, http_client=client, sleep=sleeps) as bria,
    ):
        windows = []
        for step, op, action in STEPS:
            emulator.set_faults({"rules": [{**rule, "op": op, "times": 1}]} if rule else {})
            started = time.time()
            await action(bria, ctx)
            if step == "caption regen":
                emulator.advance(120)  # captioning takes a minute on Bria's side
            windows.append((step, op, started, time.time()))
    emulator.set_faults({})
    log = await _settled_log(emulator)
    for step, op, started, ended in windows:
        mine = [r for r in log if started <= r["arrived"] <= ended]  # by arrival: late answers included
        runs[step] = StepRun(
            sends=sum(r["op"] == op for r in mine), reads=sum(r["method"] == "GET" for r in mine)
        )
    return {"runs": runs, "ctx": ctx, "stats": emulator.stats(), "walls": http.walls}


async def _settled_log(emulator) -> list[dict]:
    """The request log once every mutating request that started has been answered (a late answer is only
    logged when it is finally sent)."""
    for _ in range(200):
        started = emulator.stats()["mutating_requests"]
        log = emulator.requests()
        if sum(r["method"] != "GET" for r in log) >= started:
            return log
        await asyncio.sleep(0.05)
    raise AssertionError("late answers never came")


def _assert_one_of_each(result: dict) -> None:
    stats, ctx = result["stats"], result["ctx"]
    assert {k: stats["resources"][k] for k in ("projects", "datasets", "models", "images")} == {
        "projects": 1,
        "datasets": 1,
        "models": 1,
        "images": 5,
    }
    assert stats["datasets"][str(ctx["dataset"])]["duplicate_contents"] == 0
    assert stats["trainings_started"] == 1


def _table(clean: dict, faulted: dict) -> str:
    rows = []
    for step, _, _ in STEPS:
        c, f = clean["runs"][step], faulted["runs"][step]
        rows.append(f"{step}: sends {f.sends} (clean {c.sends}), reconcile GETs {f.reads - c.reads}")
    return "; ".join(rows)


async def test_row6_committed_then_dropped_on_each_mutating_step(emulator, sleeps, tmp_path):
    clean = await _run_steps(emulator, tmp_path, sleeps, None)
    _assert_one_of_each(clean)
    faulted = await _run_steps(emulator, tmp_path, sleeps, {"kind": "commit_then_drop"})
    _assert_one_of_each(faulted)  # resources per logical op = 1.00
    assert faulted["stats"]["faults_fired"] == {"commit_then_drop": len(STEPS)}
    extra_reads = [faulted["runs"][s].reads - clean["runs"][s].reads for s, _, _ in STEPS]
    figure(
        6,
        f"commit_then_drop on each of {len(STEPS)} mutating steps: resources per logical op 1.00 "
        f"(1 project, 1 dataset, 5 images, 1 model, 1 training); reconcile GETs per incident "
        f"{sum(extra_reads) / len(STEPS):.2f} (max {max(extra_reads)}); {_table(clean, faulted)}",
    )
    # creates and uploads adopt what they find instead of sending again; PUTs are simply resent
    for step in RECONCILED:
        assert faulted["runs"][step].sends == clean["runs"][step].sends, step
    for step in ("visual schema", "caption regen", "complete dataset"):
        assert faulted["runs"][step].sends == clean["runs"][step].sends + 1, step


@pytest.mark.parametrize("delay_ms", [1500])
async def test_row7_answer_after_the_read_timeout_on_each_mutating_step(emulator, sleeps, tmp_path, delay_ms):
    timeouts = {"read_timeout": 0.3, "request_deadline": 1.0}
    clean = await _run_steps(emulator, tmp_path, sleeps, None, **timeouts)
    faulted = await _run_steps(
        emulator, tmp_path, sleeps, {"kind": "delay_headers", "delay_ms": delay_ms}, **timeouts
    )
    _assert_one_of_each(faulted)
    assert faulted["stats"]["faults_fired"] == {"delay_headers": len(STEPS)}
    extra_reads = [faulted["runs"][s].reads - clean["runs"][s].reads for s, _, _ in STEPS]
    longest = max(faulted["walls"])
    figure(
        7,
        f"answer {delay_ms} ms late (read timeout 0.3 s, deadline 1.0 s) on each of {len(STEPS)} mutating "
        f"steps: resources per logical op 1.00; reconcile GETs per incident {sum(extra_reads) / len(STEPS):.2f}; "
        f"max wall per attempt {longest:.2f} s; {_table(clean, faulted)}",
    )
    assert longest < delay_ms / 1000  # no attempt waited for the late answer
    for step in RECONCILED:
        assert faulted["runs"][step].sends == clean["runs"][step].sends, step


async def test_row7_reads_past_the_read_timeout_are_simply_retried(emulator, sleeps):
    settings = BriaSettings(
        api_token=SecretStr(TOKEN),
        base_url=emulator.url,
        max_retries=2,
        read_timeout=0.3,
        request_deadline=1.0,
    )
    emulator.set_faults(
        {"rules": [{"op": "get-projects", "kind": "delay_headers", "delay_ms": 1500, "times": 1}]}
    )
    async with BriaClient(settings, sleep=sleeps) as bria:
        assert await bria.projects.list() == []
    for _ in range(100):  # the late answer is logged when it is finally sent
        if len(emulator.requests()) == 2:
            break
        await asyncio.sleep(0.05)
    first, second = sorted(emulator.requests(), key=lambda r: r["arrived"])
    assert second["arrived"] < first["answered"]  # the retry went out while the first answer was still late


@pytest.mark.parametrize(
    "op,rule,sends,ok",
    [
        (
            "create-project",
            {"code": 500, "headers": {"x-should-retry": "true"}},
            2,
            True,
        ),  # not applied: resent
        ("create-project", {"code": 503, "retry_after": 1}, 2, True),  # 503 + Retry-After: resent after it
        ("create-project", {"code": 502}, 1, False),  # may have committed: never resent blindly
        (
            "get-projects",
            {"code": 503, "headers": {"x-should-retry": "false"}},
            1,
            False,
        ),  # told not to retry
        ("get-projects", {"code": 504}, 2, True),  # reads retry
    ],
    ids=["post-500-should-retry", "post-503-retry-after", "post-502", "get-503-should-not-retry", "get-504"],
)
async def test_row3_server_errors_are_retried_as_the_answer_allows(emulator, sleeps, op, rule, sends, ok):
    settings = BriaSettings(api_token=SecretStr(TOKEN), base_url=emulator.url, max_retries=2)
    emulator.set_faults({"rules": [{"op": op, "kind": "status", "times": 1, **rule}]})
    async with BriaClient(settings, sleep=sleeps) as bria:
        call = (
            bria.projects.create("p", ip_medium="photography", ip_type="other")
            if op == "create-project"
            else bria.projects.list()
        )
        if ok:
            await call
        else:
            with pytest.raises(BriaError):
                await call
    assert emulator.stats()["operations"][op]["requests"] == sends
    if rule.get("retry_after"):
        assert sleeps.calls[0] >= rule["retry_after"]  # never earlier than Bria asked
