"""``client.generation``: every v2 generation operation, the status service, and waiting for jobs."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from bria_api.errors import BriaValidationError, JobFailedError, JobTimeoutError
from bria_api.models.enums import JobStatus
from bria_api.models.generation import (
    GenerateImageRequest,
    GenerateLiteRequest,
    ImageToVideoRequest,
    JobAccepted,
    JobState,
    StructuredPromptFromDiffRequest,
    StructuredPromptLiteRequest,
    StructuredPromptRequest,
    TailoredImageRequest,
    TailoredStructuredPromptRequest,
)
from bria_api.resources._base import Resource, build, parser

log = logging.getLogger("bria_api.generation")

GenerationRequest = (
    TailoredImageRequest
    | TailoredStructuredPromptRequest
    | ImageToVideoRequest
    | GenerateImageRequest
    | GenerateLiteRequest
    | StructuredPromptRequest
    | StructuredPromptLiteRequest
    | StructuredPromptFromDiffRequest
)
OPERATION_OF: dict[type, str] = {
    TailoredImageRequest: "image-generate-tailored",
    TailoredStructuredPromptRequest: "structured-prompt-generate-tailored",
    ImageToVideoRequest: "generate-video-from-tailored-image",
    GenerateImageRequest: "image-generate",
    GenerateLiteRequest: "image-generate-lite",
    StructuredPromptLiteRequest: "structured-prompt-generate-lite",  # before its base class
    StructuredPromptRequest: "structured-prompt-generate",
    StructuredPromptFromDiffRequest: "structured-prompt-generate-from-diff",
}
_MAX_UNKNOWN = 3  # UNKNOWN is Bria's "internal error"; the old SDK tolerated three in a row


def _as_job_state(body: Any) -> JobState:
    """Sync 200s come wrapped (``{"result": ...}``) or, per the tailored spec, flat: accept both."""
    if isinstance(body, dict) and "status" not in body:
        if "result" in body:
            body = {**body, "status": JobStatus.COMPLETED.value}
        elif "image_url" in body or "structured_prompt" in body or "video_url" in body:
            body = {"status": JobStatus.COMPLETED.value, "request_id": body.get("request_id"), "result": body}
    return JobState.model_validate(body)


class Generation(Resource):
    async def submit(self, request: GenerationRequest, *, webhook_url: str | None = None) -> JobAccepted:
        """Queue a job (202); poll it with ``wait`` or receive its signed webhook. Spends credits once."""
        op_id = self._op(request)
        fields = request.to_body() | {"sync": False}
        if webhook_url is not None:
            if "webhook_url" not in type(request).model_fields:
                raise BriaValidationError(f"{op_id} takes no webhook_url", field="webhook_url")
            build(type(request), {**fields, "webhook_url": webhook_url})  # validates the URL
            fields["webhook_url"] = webhook_url
        return await self._call(op_id, JobAccepted, body=fields)

    async def run(self, request: GenerationRequest) -> JobState:
        """Synchronous generation (``sync: true``): Bria holds the connection until the result is ready."""
        op_id = self._op(request)
        if isinstance(request, ImageToVideoRequest):
            raise BriaValidationError(
                "image-to-video is always asynchronous: use submit/generate", field="sync"
            )
        response: httpx.Response = await self._call(op_id, body=request.to_body() | {"sync": True})
        state = parser(Any, op_id)(response)
        return self._check(_as_job_state(state))

    async def status(self, request_id: str) -> JobState:
        """``GET /v2/status/{request_id}`` (404 NOT_FOUND raises ``NotFoundError``)."""
        return await self._call("get_status", JobState, path={"request_id": request_id})

    async def wait(
        self,
        request_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_interval: float = 10.0,
    ) -> JobState:
        """Poll the status service until the job ends; COMPLETED is returned, ERROR/UNKNOWN raise."""
        started = time.monotonic()
        interval, unknown, slept = poll_interval, 0, 0.0
        while True:
            state = await self.status(request_id)
            if state.status == JobStatus.UNKNOWN:
                unknown += 1
                if unknown >= _MAX_UNKNOWN:
                    return self._check(state)
            elif state.is_done:
                return self._check(state)
            elif state.status != JobStatus.IN_PROGRESS:
                log.warning("job %s reports unknown status %r; still polling", request_id, state.status)
            # count slept time too, so an injected (fake) sleep still honours the timeout
            waited = max(time.monotonic() - started, slept)
            if waited + interval > timeout:
                raise JobTimeoutError(request_id, waited)
            await self._transport.sleep(interval)
            slept += interval
            interval = min(max_interval, interval * 1.5)

    async def generate(self, request: GenerationRequest, *, timeout: float = 600.0, **wait: Any) -> JobState:
        """Submit, then wait for the result (the async path: no connection held while Bria works)."""
        accepted = await self.submit(request)
        return await self.wait(accepted.request_id, timeout=timeout, **wait)

    async def lite(self, **fields: Any) -> JobState:
        """FIBO Lite text-to-image (``/v2/image/generate/lite``), validated locally, then submitted and awaited."""
        return await self.generate(build(GenerateLiteRequest, fields))

    async def tailored(self, **fields: Any) -> JobState:
        """Tailored-model image (``/v2/image/generate/tailored``), validated locally, submitted and awaited."""
        return await self.generate(build(TailoredImageRequest, fields))

    @staticmethod
    def _op(request: GenerationRequest) -> str:
        for cls, op_id in OPERATION_OF.items():
            if type(request) is cls:
                return op_id
        raise BriaValidationError(f"not a generation request: {type(request).__name__}", field="request")

    @staticmethod
    def _check(state: JobState) -> JobState:
        if state.status == JobStatus.COMPLETED:
            return state
        err = state.error
        raise JobFailedError(
            state.request_id or "?",
            str(getattr(state.status, "value", state.status)),
            (err.message if err and err.message else "job failed"),
            code=err.code if err else None,
            details=err.details if err else None,
        )
