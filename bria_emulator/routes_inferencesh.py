"""inference.sh's task API under ``/inferencesh``, enough for the real ``inferencesh`` SDK (0.36) to run
``bria/generate-lite``: ``POST /apps/run``, ``GET /tasks/{id}``, the NDJSON ``GET /tasks/{id}/stream``,
``POST /tasks/{id}/cancel`` and ``POST /files`` plus the signed upload ``PUT``.

Its own auth (``Authorization: Bearer <INFERENCE_API_KEY>``), its own envelope (``{"data": …}``) and RFC 9457
problem bodies; Bria's token is not accepted here and this key is not accepted by Bria's routes. The app's
input field names are not published; this reads them as bria-flows guesses them (see ``bria_api/inferencesh``),
and refuses unknown fields so that a wrong guess shows up as a 422 rather than silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bria_emulator.generation import Inputs, image_result
from bria_emulator.inferencesh_tasks import TERMINAL, Outcome, Task, TaskStore, timeline
from bria_emulator.inputs import InputRejected, load_image
from bria_emulator.runtime import Runtime, get_runtime

PREFIX = "/inferencesh"
APP = "bria/generate-lite"
HEARTBEAT_SECONDS = 5.0
STREAM_TICK = 0.02  # real seconds between reads of the clock while a stream is open
DEFAULT_STEPS = 8


class ProblemError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def problem(status: int, detail: str) -> JSONResponse:
    titles = {
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        409: "Conflict",
        422: "Unprocessable",
    }
    body = {"type": "about:blank", "title": titles.get(status, "Error"), "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def store_of(request: Request) -> TaskStore:
    return request.app.state.inferencesh


def require_key(request: Request) -> None:
    header = request.headers.get("authorization") or ""
    scheme, _, key = header.partition(" ")
    expected = request.app.state.inference_api_key
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), expected.encode()):
        raise ProblemError(401, "invalid or missing API key")


api = APIRouter(prefix=PREFIX, tags=["inference.sh (emulated)"], dependencies=[Depends(require_key)])
uploads = APIRouter(prefix=PREFIX, tags=["inference.sh (emulated)"])  # signed URLs: no Bearer
admin = APIRouter(prefix="/_emulator/inferencesh", tags=["Emulator admin"])


class LiteInput(BaseModel):
    """The emulator's reading of the app's input schema (descriptions from its page, names unconfirmed)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1)
    images: list[str] | None = None
    num_images: int = Field(1, ge=1, le=4)
    sync: bool | None = None
    aspect_ratio: Literal["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9"] = "1:1"
    guidance_scale: float | None = Field(None, ge=3, le=5)
    steps_num: int | None = Field(None, ge=1, le=50)
    seed: int | None = Field(None, ge=0, le=2_147_483_647)
    output_format: Literal["png", "jpeg"] = "png"


class RunRequest(BaseModel):
    """ApiAppRunRequest (inferencesh types.py); fields the emulator does not act on are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    app: str
    input: dict[str, Any] = Field(default_factory=dict)
    webhook: str | None = None
    metadata: dict[str, Any] | None = None


class FileRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    files: list[dict[str, Any]] = Field(min_length=1)


def _signature(rt: Runtime, file_id: str) -> str:
    return hmac.new(rt.token.encode(), f"upload:{file_id}".encode(), hashlib.sha256).hexdigest()[:32]


async def _lite_output(rt: Runtime, request: Request, body: LiteInput) -> dict[str, Any]:
    """The same deterministic pictures as Bria's native Lite for the same prompt, seed, ratio and format."""
    digests = []
    for i, uri in enumerate(body.images or []):
        if not uri.startswith(("http://", "https://")):
            raise ProblemError(422, f"input.images[{i}]: expected a file URI, got a non-URL string")
        try:
            digests.append((await load_image(rt.files, uri))[1].sha256)
        except InputRejected as exc:
            raise ProblemError(422, f"input.images[{i}]: {exc.message}") from None
    digest = (
        digests[0]
        if len(digests) == 1
        else (hashlib.sha256("".join(digests).encode()).hexdigest() if digests else None)
    )
    first_seed = rt.random_seed() if body.seed is None else body.seed
    results = [
        image_result(
            rt,
            request,
            Inputs(body.prompt, None, None, digest, (first_seed + i) % 2_147_483_648),
            family="fibo-lite",
            aspect_ratio=body.aspect_ratio,
            output_type=body.output_format,
        )
        for i in range(body.num_images)
    ]
    media = "image/jpeg" if body.output_format == "jpeg" else "image/png"
    ext = "jpg" if body.output_format == "jpeg" else "png"
    return {
        "images": [
            {"uri": r["image_url"], "content_type": media, "filename": f"image-{i}.{ext}"}
            for i, r in enumerate(results)
        ],
        "seed": first_seed,
        "structured_prompt": results[0]["structured_prompt"],
    }


@api.post("/apps/run", operation_id="inferencesh-run-app")
async def run_app(body: RunRequest, request: Request) -> JSONResponse:
    rt, store = get_runtime(request), store_of(request)
    if body.app.split("@", 1)[0] != APP:
        raise ProblemError(404, f"app {body.app!r} not found")
    if body.webhook is not None and not body.webhook.startswith(("http://", "https://")):
        raise ProblemError(400, "webhook must be an http(s) URL")
    try:
        lite = LiteInput.model_validate(body.input)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProblemError(422, f"input.{where}: {first['msg']}") from None
    outcome = store.next_outcome()
    output = await _lite_output(rt, request, lite)
    now = rt.clock.now()
    seconds = outcome.seconds or rt.config.generation_seconds
    task = Task(
        id=store.new_id(),
        app=body.app,
        input=body.input,
        output=output,
        created_at=now,
        frames=timeline(now, seconds, lite.steps_num or DEFAULT_STEPS, outcome),
        error=outcome.error
        or {"failed": "app crashed", "rejected": "insufficient balance"}.get(outcome.status, ""),
        webhook=body.webhook,
        metadata=body.metadata,
    )
    store.tasks[task.id] = task
    return JSONResponse({"data": task.view(rt.clock, now), "messages": []})


def _task(request: Request, task_id: str) -> Task:
    task = store_of(request).tasks.get(task_id)
    if task is None:
        raise ProblemError(404, f"task {task_id} not found")
    return task


@api.get("/tasks/{task_id}", operation_id="inferencesh-get-task")
async def get_task(task_id: str, request: Request) -> JSONResponse:
    rt = get_runtime(request)
    return JSONResponse({"data": _task(request, task_id).view(rt.clock, rt.clock.now())})


@api.post("/tasks/{task_id}/cancel", operation_id="inferencesh-cancel-task")
async def cancel_task(task_id: str, request: Request) -> JSONResponse:
    rt, task = get_runtime(request), _task(request, task_id)
    now = rt.clock.now()
    status = task.status(now)
    if status in TERMINAL:
        raise ProblemError(409, f"task {task_id} already ended (status {status})")
    task.cancel(now)
    return JSONResponse({"data": task.view(rt.clock, now)})


@api.get("/tasks/{task_id}/stream", operation_id="inferencesh-stream-task")
async def stream_task(task_id: str, request: Request) -> StreamingResponse:
    rt, task = get_runtime(request), _task(request, task_id)

    async def frames() -> AsyncIterator[bytes]:
        sent, last_write = 0, time.monotonic()
        while True:
            now = rt.clock.now()
            seen = len(task.seen(now))
            for i in range(sent, seen):  # every frame since the last read, in order
                view = task.view(rt.clock, now, upto=i)
                yield (
                    json.dumps({"data": view, "fields": ["status", "logs", "output", "error"]}) + "\n"
                ).encode()
                last_write = time.monotonic()
            sent = seen
            if task.frames[sent - 1].status in TERMINAL and sent == len(task.frames):
                return
            if await request.is_disconnected():
                return
            if time.monotonic() - last_write > HEARTBEAT_SECONDS:
                yield b'{"type":"heartbeat"}\n'
                last_write = time.monotonic()
            await asyncio.sleep(STREAM_TICK)

    return StreamingResponse(
        frames(), media_type="application/x-ndjson", headers={"Cache-Control": "no-cache"}
    )


@api.post("/files", operation_id="inferencesh-create-files")
async def create_files(body: FileRequest, request: Request) -> JSONResponse:
    rt, store = get_runtime(request), store_of(request)
    base = rt.base_url(request)
    created = []
    for spec in body.files:
        file_id = store.new_id()
        store.uploads[file_id] = _signature(rt, file_id)
        created.append(
            {
                **{k: spec.get(k) for k in ("filename", "content_type", "size", "path")},
                "id": file_id,
                "uri": rt.file_url(request, file_id),
                "upload_url": f"{base}{PREFIX}/uploads/{file_id}?signature={store.uploads[file_id]}",
            }
        )
    return JSONResponse({"data": created})


@uploads.put("/uploads/{file_id}", operation_id="inferencesh-upload-file", include_in_schema=False)
async def upload_file(file_id: str, signature: str, request: Request) -> Response:
    rt, store = get_runtime(request), store_of(request)
    expected = store.uploads.get(file_id)
    if expected is None or not hmac.compare_digest(signature, expected):
        return Response(b"SignatureDoesNotMatch", status_code=403)
    data = await request.body()
    rt.files.put(data, request.headers.get("content-type") or "application/octet-stream", file_id)
    return Response(status_code=200)


@admin.post("/outcomes", operation_id="emulator-inferencesh-outcomes")
async def queue_outcomes(outcomes: list[Outcome], request: Request) -> dict[str, Any]:
    """How the next tasks end, in order (then: completed after generation_seconds)."""
    store_of(request).outcomes.extend(outcomes)
    return {"queued": len(store_of(request).outcomes)}


@admin.get("/tasks", operation_id="emulator-inferencesh-tasks")
async def list_tasks(request: Request) -> list[dict[str, Any]]:
    rt = get_runtime(request)
    return store_of(request).snapshot(rt.clock, rt.clock.now())


@admin.get("/webhooks", operation_id="emulator-inferencesh-webhooks")
async def webhooks(request: Request) -> list[dict[str, Any]]:
    return json.loads(json.dumps(store_of(request).webhook_records))


def install(app: Any, api_key: str) -> TaskStore:
    """Mount the routers and the problem+json error handler on an emulator app."""
    app.state.inference_api_key = api_key
    app.state.inferencesh = TaskStore()

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.detail)

    for router in (api, uploads, admin):
        app.include_router(router)
    return app.state.inferencesh
