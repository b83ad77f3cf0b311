"""``bria-flows webhooks serve``: Bria's v2 job webhooks turned into Prefect events.

Open-source Prefect has no webhooks, so this small receiver verifies Bria's HMAC signature (stale, replayed,
forged, tampered and oversized deliveries are refused) and posts each verified delivery as a Prefect event
``bria.job.completed`` / ``bria.job.error`` about resource ``bria.job.<request_id>``. Delivery is
at-least-once: a replay of an accepted id is acknowledged (so Bria stops retrying) but not emitted twice.
Polling stays the fallback for anything a webhook missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from bria_api.errors import WebhookVerificationError
from bria_api.webhooks import WebhookReplayError, WebhookVerifier

log = logging.getLogger("bria_flows.webhooks")
WEBHOOK_PATH = "/bria/webhook"


def _emit_to_prefect(event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
    from prefect.events import emit_event

    emit_event(event=event, resource=resource, payload=payload)


def create_receiver_app(
    verifier: WebhookVerifier,
    *,
    emit: Callable[[str, dict[str, str], dict[str, Any]], None] = _emit_to_prefect,
) -> FastAPI:
    app = FastAPI(title="bria-flows webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(WEBHOOK_PATH)
    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > verifier.max_body_bytes):
            return JSONResponse({"error": "payload too large"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():  # bounded even without (or with a lying) Content-Length
            body += chunk
            if len(body) > verifier.max_body_bytes:
                return JSONResponse({"error": "payload too large"}, status_code=413)
        try:
            delivery = verifier.verify(request.headers, bytes(body))
        except WebhookReplayError:
            return JSONResponse({"status": "duplicate ignored"}, status_code=200)
        except WebhookVerificationError as exc:
            log.warning("refused a webhook delivery: %s", exc)
            return JSONResponse({"error": "verification failed"}, status_code=401)
        job = delivery.job
        status = str(getattr(job.status, "value", job.status))
        request_id = job.request_id or delivery.webhook_id
        result = job.result.model_dump(exclude_none=True) if job.result else {}
        emit(
            "bria.job.completed" if status == "COMPLETED" else "bria.job.error",
            {"prefect.resource.id": f"bria.job.{request_id}", "bria.request-id": request_id},
            {"status": status, "request_id": request_id, "result": result, "webhook_id": delivery.webhook_id},
        )
        return Response(status_code=204)

    return app


def serve(host: str, port: int, verifier: WebhookVerifier) -> None:
    import uvicorn

    uvicorn.run(create_receiver_app(verifier), host=host, port=port, log_level="warning", access_log=False)
