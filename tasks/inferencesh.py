"""generate-lite on inference.sh: one image per task, live progress in the UI, paid once, cancelled with the run.

Like the native backend, the file name derives from the request (here: the app input, local references by
content), so a re-run finds the image and its sidecar and spends nothing. Between the run request and the
saved file, a ``.pending`` marker next to the output holds the task id: a retry or a re-run re-attaches to
that task's stream instead of starting (and paying for) another one.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import anyio
from PIL import Image
from prefect import get_run_logger, runtime, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact

from bria_api import Applied
from bria_api.inferencesh import (
    InferenceShAPIError,
    InferenceShError,
    InferenceShLite,
    TaskFailedError,
    TaskUpdate,
    app_input,
)
from bria_api.lite import LiteParams
from tasks._common import TAGS, retry_not_applied
from tasks._progress import report
from tasks.credentials import InferenceShCredentials, resolve_inference_settings
from tasks.generation import GeneratedFile, _reuse, save_with_sidecar
from tasks.ledger import record_billable

# flow-run id -> {inference.sh task id: credentials}: what a cancellation hook must cancel, in this process.
ACTIVE_TASKS: dict[str, dict[str, InferenceShCredentials | None]] = {}


def lite_key(params: LiteParams, app: str, input_fields: dict[str, str] | None = None) -> str:
    """Names the image: the app and its input, local reference images by content (their path may move)."""
    refs = [
        r
        if r.startswith(("http://", "https://"))
        else "sha256:" + hashlib.sha256(Path(r).read_bytes()).hexdigest()
        for r in params.reference_images
    ]
    body = {"app": app, "input": app_input({**params.model_dump(), "reference_images": refs}, input_fields)}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _pending_task_id(marker: Path) -> str | None:
    try:
        return json.loads(marker.read_text())["task_id"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _flow_run_id() -> str:
    return str(runtime.flow_run.id) if runtime.flow_run.id else "-"


async def follow(runner: InferenceShLite, stream: Any, stem: str) -> TaskUpdate:
    """Stream the task into a progress artifact and log lines (on change only); the COMPLETED update."""
    logger, task_id = get_run_logger(), stream.task_id
    key = "inferencesh-" + re.sub(r"[^a-z0-9-]+", "-", task_id.lower())
    artifact = await acreate_progress_artifact(0.0, key=key, description=f"{runner.settings.app} · {stem}")
    percent, status, logged, last = 0.0, None, 0, None
    try:
        async for update in runner.updates(stream):
            last = update
            if update.status != status:
                status = update.status
                logger.info("inference.sh task %s: %s", task_id, update.status_name)
            for line in update.logs[logged:]:
                logger.info("inference.sh task %s: %s", task_id, line)
            logged = max(logged, len(update.logs))
            if (now := update.progress(percent)) != percent:
                percent = now
                await aupdate_progress_artifact(
                    artifact, percent, description=f"{update.status_name} · {stem}"
                )
                report(key, f"inference.sh {update.status_name.lower()}", percent, 100.0)
    except TaskFailedError as exc:
        await aupdate_progress_artifact(artifact, percent, description=str(exc)[:500])
        raise
    assert last is not None
    return last


async def run_once(
    runner: InferenceShLite,
    params: LiteParams,
    marker: Path,
    stem: str,
    credentials: InferenceShCredentials | None,
) -> TaskUpdate:
    """Start the task unless the marker names one already started; follow it; cancel it if we are stopped."""
    task_id = _pending_task_id(marker)
    stream, started = None, False
    if task_id is not None:
        try:
            stream = await runner.reattach(task_id)
            get_run_logger().info(
                "re-attaching to inference.sh task %s (already started, not paid again)", task_id
            )
        except InferenceShAPIError as exc:
            if exc.status_code != 404:
                raise
            marker.unlink(missing_ok=True)  # the platform no longer knows it: nothing runs, start anew
    if stream is None:
        stream = await runner.open_stream(params)
        task_id = stream.task_id
        marker.write_text(
            json.dumps({"task_id": task_id, "backend": "inferencesh", "app": runner.settings.app})
        )
        started = True
    # No await between the start and the try below: a cancellation from here on cancels the remote task.
    active = ACTIVE_TASKS.setdefault(_flow_run_id(), {})
    active[task_id] = credentials
    try:
        if started:
            await record_billable("inferencesh-generate-lite", task_id, model=runner.settings.app)
        return await follow(runner, stream, stem)
    except TaskFailedError:
        marker.unlink(missing_ok=True)  # it ended: a deliberate re-run starts a new task
        raise
    except InferenceShError as exc:
        if exc.transient:  # the marker holds the task id: a retry re-attaches, it does not pay again
            exc.applied = Applied.NO
        raise
    except Exception:  # our own failure: the task runs on, and the marker lets a re-run re-attach to it
        raise
    except BaseException:  # cancelled, timed out, or the process is going down: stop paying for it
        with anyio.CancelScope(shield=True):
            ended = await runner.cancel(task_id)
        get_run_logger().warning("cancelled inference.sh task %s (%s)", task_id, ended.status_name)
        marker.unlink(missing_ok=True)
        raise
    finally:
        active.pop(task_id, None)


@task(
    name="generate-lite-inferencesh",
    task_run_name="inferencesh-{stem}",
    tags=[*TAGS, "inferencesh"],
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_not_applied,
    timeout_seconds=3600,
)
async def generate_lite_inferencesh(
    params: LiteParams,
    out_dir: Path,
    stem: str = "lite",
    credentials: InferenceShCredentials | None = None,
) -> GeneratedFile:
    """One FIBO Lite image through inference.sh's ``bria/generate-lite``, saved with the native sidecar shape."""
    runner = InferenceShLite(resolve_inference_settings(credentials))
    settings = runner.settings
    ext = "jpg" if params.output_format == "jpeg" else "png"
    path = out_dir / f"{stem}-{lite_key(params, settings.app, settings.input_fields)}.{ext}"
    marker = path.with_name(path.name + ".pending")
    if reused := _reuse(path, path.with_suffix(".json")):
        marker.unlink(missing_ok=True)
        get_run_logger().info("reused %s", path.name)
        return reused
    out_dir.mkdir(parents=True, exist_ok=True)
    final = await run_once(runner, params, marker, stem, credentials)
    output = runner.read_output(final.output)
    if not output["images"]:
        raise InferenceShError(
            f"inference.sh task {final.task_id} completed without images in its output field "
            f"{settings.output_fields.get('images', 'images')!r} (see bria_api/inferencesh/app_fields.py)"
        )
    try:
        data = await runner.download(output["images"][0])
        Image.open(io.BytesIO(data)).verify()
    except InferenceShError as exc:
        exc.applied = Applied.NO if exc.transient else exc.applied  # the marker still names the task
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder error means a bad download
        raise InferenceShError(f"downloaded image does not decode ({type(exc).__name__})") from None
    saved = save_with_sidecar(
        path,
        data,
        backend="inferencesh",
        request_id=final.task_id,
        seed=output["seed"] if output["seed"] is not None else params.seed,
        prompt=params.prompt,
        structured_prompt=output["structured_prompt"],
        aspect_ratio=params.aspect_ratio,
        operation=settings.app,
    )
    marker.unlink(missing_ok=True)
    get_run_logger().info("generated %s (inference.sh task %s)", path.name, final.task_id)
    return saved


async def cancel_remote_tasks(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook (cancelled, crashed, failed): cancel the inference.sh tasks this run still has in flight."""
    for task_id, credentials in ACTIVE_TASKS.pop(str(flow_run.id), {}).items():
        try:
            ended = await InferenceShLite(resolve_inference_settings(credentials)).cancel(task_id)
        except InferenceShError as exc:
            get_run_logger().error("could not cancel inference.sh task %s: %s", task_id, exc)
            continue
        get_run_logger().warning(
            "run %s: cancelled inference.sh task %s (%s)", state.name, task_id, ended.status_name
        )
