"""Retries with injected faults: reads recover, a POST that reached the server is never resent blindly."""

from __future__ import annotations

import time

import pytest

from bria_api import (
    Applied,
    BriaClient,
    BriaConnectionLostError,
    BriaTimeoutError,
    RateLimitedError,
    ServerError,
)
from bria_api.governor import RateGovernor


def requests_of(emulator, op: str) -> int:
    return emulator.stats()["operations"].get(op, {}).get("requests", 0)


async def test_get_recovers_from_429_and_5xx(bria, emulator, sleeps):
    emulator.set_faults(
        {
            "rules": [
                {"op": "get-projects", "kind": "status", "code": 429, "retry_after": 2, "times": 1},
                {"op": "get-projects", "kind": "status", "code": 503, "times": 1, "after": 1},
                {"op": "get-projects", "kind": "status", "code": 500, "times": 1, "after": 2},
            ]
        }
    )
    assert await bria.projects.list() == []
    assert requests_of(emulator, "get-projects") == 4
    assert sleeps.calls[0] >= 2.0  # Retry-After honoured, never earlier


async def test_429_without_retry_after_backs_off_and_slows_the_governor(emulator, settings, sleeps):
    governor = RateGovernor(settings.requests_per_minute)
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "status", "code": 429, "times": 2}]})
    async with BriaClient(settings, sleep=sleeps, governor=governor) as bria:
        await bria.projects.list()
    assert requests_of(emulator, "get-projects") == 3 and len(sleeps.calls) == 2
    assert governor.rpm < governor.max_rpm  # cut on each 429, recovering one step per success


async def test_post_that_committed_is_not_resent(bria, emulator, sleeps):
    emulator.set_faults({"rules": [{"op": "create-project", "kind": "commit_then_drop", "times": 1}]})
    with pytest.raises(BriaConnectionLostError) as info:
        await bria.projects.create("Brand", ip_medium="photography", ip_type="other")
    assert info.value.applied is Applied.MAYBE
    assert requests_of(emulator, "create-project") == 1 and not sleeps.calls
    # the caller reconciles: the project exists exactly once
    assert len(await bria.projects.find_by_name("Brand")) == 1


async def test_post_5xx_is_not_resent_but_429_is(bria, emulator):
    emulator.set_faults(
        {"rules": [{"op": "create-project", "kind": "status", "code": 500, "commit": True, "times": 1}]}
    )
    with pytest.raises(ServerError):
        await bria.projects.create("A", ip_medium="photography", ip_type="other")
    assert requests_of(emulator, "create-project") == 1
    emulator.set_faults({"rules": [{"op": "create-project", "kind": "status", "code": 429, "times": 2}]})
    await bria.projects.create("B", ip_medium="photography", ip_type="other")
    assert requests_of(emulator, "create-project") == 4
    assert len(await bria.projects.find_by_name("B")) == 1


async def test_bulk_zip_is_never_resent(bria, emulator):
    project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
    dataset = await bria.datasets.create(project.id, "bulk", upload_type="advanced")
    emulator.set_faults(
        {"rules": [{"op": "bulk-upload-images", "kind": "status", "code": 503, "retry_after": 1}]}
    )
    with pytest.raises(ServerError):
        await bria.images.bulk_upload(dataset.id, "https://example.com/a.zip")
    assert requests_of(emulator, "bulk-upload-images") == 1


async def test_retry_after_over_the_cap_surfaces_instead_of_sleeping(bria, emulator, sleeps):
    emulator.set_faults(
        {"rules": [{"op": "get-projects", "kind": "status", "code": 429, "retry_after": 3600}]}
    )
    with pytest.raises(RateLimitedError) as info:
        await bria.projects.list()
    assert info.value.retry_after == pytest.approx(3600, abs=1) and not sleeps.calls


async def test_retries_stop_at_max_retries(bria, emulator, sleeps):
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "status", "code": 502}]})
    with pytest.raises(ServerError):
        await bria.projects.list()
    assert requests_of(emulator, "get-projects") == bria.settings.max_retries + 1
    assert all(s <= 8.0 for s in sleeps.calls)  # full jitter, capped


async def test_dripped_body_cannot_outlive_the_deadline(emulator, settings, sleeps):
    tight = settings.model_copy(update={"request_deadline": 1.0, "read_timeout": 5.0, "max_retries": 0})
    async with BriaClient(tight, sleep=sleeps) as bria:
        for i in range(3):  # a body of several hundred bytes: minutes at one byte per 200 ms
            await bria.projects.create(f"p{i}", ip_medium="photography", ip_type="other")
        emulator.set_faults({"rules": [{"op": "get-projects", "kind": "drip", "interval_ms": 200}]})
        started = time.monotonic()
        with pytest.raises(BriaTimeoutError, match="deadline"):
            await bria.projects.list()
    assert time.monotonic() - started < 2.0
