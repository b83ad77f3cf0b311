"""FIBO Lite on inference.sh through the real ``inferencesh`` SDK, driven from async code.

The SDK (0.36) is synchronous (``requests``): each call runs in a worker thread and a stream's updates cross
back to the event loop through a queue, so progress can be reported while it runs. The SDK is imported only
when a runner is made, so the base install works without the ``inferencesh`` extra. Wire facts we rely on
(../shared/bria-api.md §12): ``POST /apps/run``, the NDJSON ``GET /tasks/{id}/stream``, ``GET /tasks/{id}``,
``POST /tasks/{id}/cancel``, integer statuses with COMPLETED = 10; local files are uploaded by the SDK.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from bria_api.errors import Applied, BriaError
from bria_api.inferencesh.app_fields import app_input, read_output
from bria_api.inferencesh.settings import InferenceShSettings
from bria_api.lite import LiteParams
from bria_api.redaction import register_secret, scrub

SDK_HINT = "pip install 'bria-flows[inferencesh]'"
STATUS_NAMES = {  # inferencesh 0.36 TaskStatus (the seed's webhook example still uses the old 9 = COMPLETED)
    0: "UNKNOWN", 1: "RECEIVED", 2: "QUEUED", 3: "DISPATCHED", 4: "PREPARING", 5: "SERVING", 6: "SETTING_UP",
    7: "RUNNING", 8: "CANCELLING", 9: "UPLOADING", 10: "COMPLETED", 11: "FAILED", 12: "CANCELLED", 13: "REJECTED",
}  # fmt: skip
RUNNING, COMPLETED, FAILED, CANCELLED, REJECTED = 7, 10, 11, 12, 13
ENDED_BADLY = {FAILED, CANCELLED, REJECTED}
# Our estimate of how far along a status is (the platform sends no percentage); RUNNING moves 30 -> 90 with
# "step k/n" log lines.
PROGRESS = {1: 2.0, 2: 5.0, 3: 10.0, 4: 15.0, 5: 20.0, 6: 25.0, 7: 30.0, 9: 95.0, 10: 100.0}
STEP = re.compile(r"\b(\d+)\s*/\s*(\d+)\b")
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class InferenceShError(BriaError):
    """Something went wrong on the inference.sh backend."""


class BackendUnavailableError(InferenceShError):
    """The ``inferencesh`` SDK is not installed."""


class InferenceShAPIError(InferenceShError):
    """inference.sh answered with an HTTP error (message from its problem body, never the key)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"inference.sh API {status_code}: {scrub(message)}")
        self.status_code = status_code
        self.transient = status_code in (408, 429) or status_code >= 500
        self.applied = Applied.NO if status_code in (401, 403, 404, 422, 429) else Applied.MAYBE


class InferenceShConnectionError(InferenceShError):
    transient = True
    applied = Applied.MAYBE


class TaskFailedError(InferenceShError):
    """The task ended FAILED, CANCELLED or REJECTED; the message is the platform's."""

    def __init__(self, task_id: str, status: int, error: str) -> None:
        name = STATUS_NAMES.get(status, str(status))
        super().__init__(f"inference.sh task {task_id} {name}" + (f": {scrub(error)}" if error else ""))
        self.task_id, self.status, self.error = task_id, status, error


def load_sdk() -> Any:
    try:
        import inferencesh
    except ImportError:
        raise BackendUnavailableError(f"the inference.sh backend needs its SDK: {SDK_HINT}") from None
    return inferencesh


def _text(content: Any) -> str:
    """A log line: Go sends []byte as base64; plain text is kept as it is."""
    if isinstance(content, str):
        try:
            return base64.b64decode(content, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return content
    return str(content)


@dataclass(frozen=True)
class TaskUpdate:
    """One state of a task as the SDK hands it over (stream updates carry no ``error``; GET does)."""

    task_id: str
    status: int
    logs: tuple[str, ...] = ()
    output: Any = None
    error: str = ""

    @classmethod
    def parse(cls, task: dict[str, Any], task_id: str = "") -> TaskUpdate:
        raw = task.get("status")
        names = {v.lower(): k for k, v in STATUS_NAMES.items()}
        status = raw if isinstance(raw, int) else names.get(str(raw).lower(), 0)
        logs = tuple(
            _text(entry.get("content")) for entry in task.get("logs") or [] if isinstance(entry, dict)
        )
        return cls(str(task.get("id") or task_id), status, logs, task.get("output"), task.get("error") or "")

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, str(self.status))

    def progress(self, previous: float = 0.0) -> float:
        if self.status == RUNNING:
            for line in reversed(self.logs):
                if match := STEP.search(line):
                    done, total = int(match[1]), int(match[2])
                    if 0 < total and done <= total:
                        return max(previous, 30.0 + 60.0 * done / total)
        return max(previous, PROGRESS.get(self.status, previous))


def _translate(exc: BaseException, sdk: Any) -> BaseException:
    if isinstance(exc, sdk.APIError):
        return InferenceShAPIError(exc.status_code, str(getattr(exc, "message", exc)))
    module = type(exc).__module__
    if module.startswith(("requests", "urllib3")) or isinstance(exc, ConnectionError | TimeoutError):
        return InferenceShConnectionError(f"inference.sh unreachable ({type(exc).__name__})")
    return exc


class InferenceShLite:
    """``bria/generate-lite`` on inference.sh: start (streaming or not), follow, get, cancel, download."""

    def __init__(self, settings: InferenceShSettings | None = None) -> None:
        self.settings = settings or InferenceShSettings()
        key = self.settings.require_key()
        register_secret(key)
        self._sdk = load_sdk()
        self._client = self._sdk.inference(api_key=key, base_url=self.settings.base_url)

    def run_params(self, params: LiteParams, *, webhook: str | None = None) -> dict[str, Any]:
        values = params.model_dump()
        values["reference_images"] = list(params.reference_images)
        body: dict[str, Any] = {
            "app": self.settings.app,
            "input": app_input(values, self.settings.input_fields),
        }
        if webhook:
            body["webhook"] = webhook
        return body

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:
            translated = _translate(exc, self._sdk)
            if translated is exc:
                raise
            raise translated from None

    async def open_stream(self, params: LiteParams, *, webhook: str | None = None) -> Any:
        """Create the task (``run(…, stream=True)``); the returned stream knows ``task_id`` before any update.

        If the caller is cancelled while the run request is in flight, the task it creates is cancelled as
        soon as its id is known, so nothing is left running (and paying) behind a cancelled flow.
        """
        pending = asyncio.ensure_future(
            self._call(self._client.run, self.run_params(params, webhook=webhook), stream=True)
        )
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            pending.add_done_callback(self._cancel_when_created)
            raise

    def _cancel_when_created(self, created: asyncio.Future) -> None:
        if not created.cancelled() and created.exception() is None:
            threading.Thread(
                target=self._client.cancel, args=(created.result().task_id,), daemon=True
            ).start()

    async def reattach(self, task_id: str) -> Any:
        """The stream of a task created earlier (``GET /tasks/{id}``, then its stream)."""
        return await self._call(self._client.tasks.stream, task_id)

    async def submit(self, params: LiteParams, *, webhook: str | None = None) -> TaskUpdate:
        """Create the task and return at once (``wait=False``); with a webhook, the platform reports the end."""
        return TaskUpdate.parse(
            await self._call(self._client.run, self.run_params(params, webhook=webhook), wait=False)
        )

    async def get(self, task_id: str) -> TaskUpdate:
        return TaskUpdate.parse((await self._call(self._client.get_task, task_id)).data, task_id)

    async def cancel(self, task_id: str) -> TaskUpdate:
        """Cancel unless it already ended (then there is nothing to stop); returns the task's state after."""
        if (await self.get(task_id)).status not in {COMPLETED, *ENDED_BADLY}:
            try:
                await self._call(self._client.cancel, task_id)
            except InferenceShAPIError as exc:
                if exc.status_code != 409:  # 409: it ended meanwhile
                    raise
        return await self.get(task_id)

    async def updates(self, stream: Any) -> AsyncIterator[TaskUpdate]:
        """Every update of the task until COMPLETED; FAILED/CANCELLED/REJECTED raise ``TaskFailedError``."""
        task_id = stream.task_id
        last: TaskUpdate | None = None
        try:
            async for raw in _in_thread(stream):
                last = TaskUpdate.parse(raw, task_id)
                yield last
        except RuntimeError as exc:  # how the SDK reports a task that ended badly: read its status and error
            final = await self.get(task_id)
            if final.status in ENDED_BADLY:
                raise TaskFailedError(task_id, final.status, final.error or str(exc)) from None
            raise InferenceShConnectionError(
                f"the stream of task {task_id} broke ({scrub(str(exc))})"
            ) from None
        except Exception as exc:
            translated = _translate(exc, self._sdk)
            if translated is exc:
                raise
            raise translated from None
        if last is None or last.status != COMPLETED:  # the SDK gave up reconnecting: the task decides
            final = await self.get(task_id)
            if final.status in ENDED_BADLY:
                raise TaskFailedError(task_id, final.status, final.error)
            if final.status != COMPLETED:
                raise InferenceShConnectionError(f"the stream of task {task_id} ended at {final.status_name}")
            yield final

    async def download(self, url: str) -> bytes:
        """An output file (a CDN URL: the API key is never sent there)."""
        timeout = httpx.Timeout(self.settings.download_timeout, connect=10.0)
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as http:
                async with http.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise InferenceShAPIError(response.status_code, f"downloading {url[:200]} failed")
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_DOWNLOAD_BYTES:
                            raise InferenceShError(f"{url[:200]} is larger than {MAX_DOWNLOAD_BYTES} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise InferenceShConnectionError(
                f"downloading {url[:200]} failed ({type(exc).__name__})"
            ) from None

    def read_output(self, output: Any) -> dict[str, Any]:
        return read_output(output, self.settings.output_fields)


async def _in_thread(items: Iterable[Any]) -> AsyncIterator[Any]:
    """Iterate a blocking iterable in a daemon thread (a hung stream never blocks interpreter exit)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(kind: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is gone: nobody listens any more
            pass

    def pump() -> None:
        try:
            for item in items:
                put("item", item)
            put("end", None)
        except BaseException as exc:  # noqa: BLE001 - handed over to the loop as is
            put("error", exc)

    threading.Thread(target=pump, name="inferencesh-stream", daemon=True).start()
    while True:
        kind, value = await queue.get()
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value
