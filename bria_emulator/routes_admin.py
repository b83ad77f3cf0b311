"""Emulator-only endpoints under /_emulator (no auth, never faulted, not part of Bria's API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bria_emulator.errors import ApiError
from bria_emulator.faults import FaultProfile
from bria_emulator.runtime import get_runtime

router = APIRouter(prefix="/_emulator", tags=["Emulator admin"], include_in_schema=True)


class ClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_seconds: float = Field(0.0, ge=0)
    time_scale: float | None = Field(None, gt=0)


@router.get("/files/{file_id}", operation_id="emulator-get-file")
async def get_file(file_id: str, request: Request) -> Response:
    stored = get_runtime(request).files.get(file_id)
    if stored is None:
        raise ApiError(404, "File not found")
    data, media_type = stored
    return Response(data, media_type=media_type, headers={"Cache-Control": "public, max-age=259200"})


@router.get("/stats", operation_id="emulator-stats")
async def stats(request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    return {**rt.stats.snapshot(rt.store), "holds": rt.holds.snapshot()}


@router.get("/requests", operation_id="emulator-requests")
async def requests(request: Request) -> list[dict[str, Any]]:
    """Recent Bria requests, oldest first: operation, path, wall-clock arrival/answer, status, Retry-After."""
    return get_runtime(request).stats.requests_log()


@router.get("/faults", operation_id="emulator-get-faults")
async def get_faults(request: Request) -> dict[str, Any]:
    return get_runtime(request).faults.profile.model_dump(mode="json")


@router.post("/faults", operation_id="emulator-set-faults")
async def set_faults(profile: FaultProfile, request: Request) -> dict[str, Any]:
    """Replace the whole profile (counters, RNG and windows restart)."""
    rt = get_runtime(request)
    rt.faults.set(profile)
    return rt.faults.profile.model_dump(mode="json")


@router.post("/release", operation_id="emulator-release")
async def release(request: Request) -> dict[str, Any]:
    """Let every request parked by a `hold` fault go on (a parked request whose client left is dropped)."""
    return {"released": get_runtime(request).holds.release()}


@router.post("/reset", operation_id="emulator-reset")
async def reset(request: Request) -> dict[str, Any]:
    rt = get_runtime(request)
    rt.reset()
    return {"reset": True, "clock": rt.clock.snapshot()}


@router.get("/clock", operation_id="emulator-get-clock")
async def get_clock(request: Request) -> dict[str, Any]:
    return get_runtime(request).clock.snapshot()


@router.post("/clock", operation_id="emulator-set-clock")
async def set_clock(body: ClockBody, request: Request) -> dict[str, Any]:
    clock = get_runtime(request).clock
    if body.time_scale is not None:
        clock.set_time_scale(body.time_scale)
    if body.advance_seconds:
        clock.advance(body.advance_seconds)
    return clock.snapshot()


@router.get("/webhooks", operation_id="emulator-webhooks")
async def webhooks(request: Request) -> list[dict[str, Any]]:
    return get_runtime(request).webhooks.snapshot()
