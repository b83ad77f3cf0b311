"""Error taxonomy: every documented error path, over HTTP, mapped to a typed error with Bria's message."""

from __future__ import annotations

import base64
import random

import httpx
import pytest
from pydantic import SecretStr

from bria_api import (
    OPERATIONS,
    Applied,
    AuthenticationError,
    BadRequestError,
    BriaClient,
    BriaConnectError,
    BriaResponseError,
    BriaSettings,
    BriaTimeoutError,
    BriaValidationError,
    ConflictError,
    ImageDownloadError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ServerError,
    UnprocessableError,
    UnsupportedMediaError,
)
from bria_api.errors import error_from_response
from bria_api.models import GenerateLiteRequest
from tests.imagegen import image_bytes


def _response(status: int, body=None, *, text: str | None = None, headers=None) -> httpx.Response:
    kw = {"json": body} if text is None else {"text": text}
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://h/x"), **kw)


@pytest.mark.parametrize(
    "status,body,cls,message",
    [
        (
            403,
            "Quota exceeded: Free users can make up to 1000 requests",
            PermissionDeniedError,
            "Quota exceeded",
        ),
        (
            400,
            {"message": "Advanced training parameters are only supported"},
            BadRequestError,
            "Advanced training",
        ),
        (
            400,
            {
                "errors": [
                    {
                        "msg": "Input should be less than or equal to 5000",
                        "field_name": "total_training_steps",
                    }
                ]
            },
            BadRequestError,
            "total_training_steps: Input should be less",
        ),
        (
            422,
            {"error": {"code": 422, "message": "Moderation", "details": "blocked"}, "request_id": "r1"},
            UnprocessableError,
            "Moderation",
        ),
        (409, {"message": "Cannot delete model while it is in training"}, ConflictError, "Cannot delete"),
        (460, {"message": "Failed to download image"}, ImageDownloadError, "Failed to download"),
        (502, None, ServerError, "Bad Gateway"),
    ],
)
def test_every_body_family_is_parsed(status, body, cls, message):
    err = error_from_response(_response(status, body) if body is not None else _response(status, text=""))
    assert isinstance(err, cls) and message in str(err)


def test_v2_request_id_and_html_bodies():
    err = error_from_response(
        _response(500, {"error": {"code": 500, "message": "boom", "details": "d"}, "request_id": "abc"})
    )
    assert err.request_id == "abc" and err.details == "d" and err.applied is Applied.MAYBE
    html = error_from_response(_response(503, text="<html><h1>503</h1></html>", headers={"Retry-After": "3"}))
    assert isinstance(html, ServerError) and html.retry_after == 3 and html.applied is Applied.NO
    assert "<html>" not in str(html)


async def test_401_wrong_token_is_final(emulator, settings, sleeps):
    bad = settings.model_copy(update={"api_token": SecretStr("not-the-token")})
    async with BriaClient(bad, sleep=sleeps) as bria:
        with pytest.raises(AuthenticationError) as info:
            await bria.projects.list()
    assert info.value.status_code == 401 and info.value.message
    assert emulator.stats()["operations"]["get-projects"]["requests"] == 1 and not sleeps.calls


async def test_404_409_412_from_the_state_machine(bria, emulator):
    with pytest.raises(NotFoundError):
        await bria.projects.get(987654)
    project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
    dataset = await bria.datasets.create(project.id, "d")
    model = await bria.models.create("m", dataset.id)
    with pytest.raises(PreconditionFailedError) as info:
        await bria.models.start_training(model.id)  # dataset still draft
    assert info.value.request_id
    with pytest.raises(ConflictError):
        await bria.datasets.complete(dataset.id)  # no schema, no images


async def test_server_side_validation_bodies(bria, emulator):
    project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
    dataset = await bria.datasets.create(project.id, "d")
    call = bria.transport.call
    gif = base64.b64encode(image_bytes(300, 300, "GIF")).decode()
    with pytest.raises(UnsupportedMediaError):
        await call(
            OPERATIONS["upload-image"], path={"dataset_id": dataset.id}, json={"file": gif, "image_name": "g"}
        )
    small = base64.b64encode(image_bytes(300, 300)).decode()
    with pytest.raises(PreconditionFailedError):
        await call(
            OPERATIONS["upload-image"],
            path={"dataset_id": dataset.id},
            json={"file": small, "image_name": "s", "increase_resolution": False},
        )
    with pytest.raises(UnprocessableError):
        await bria.images.upload(dataset.id, "http://127.0.0.1:9/nothing-here.png")
    with pytest.raises(BadRequestError) as info:
        await call(OPERATIONS["image-generate-lite"], json={"sync": False})  # neither prompt nor image
    assert info.value.request_id  # v2 bodies carry one


async def test_local_validation_sends_nothing(bria, emulator):
    cases = [
        bria.generation.lite(prompt="x", guidance_scale=9),
        bria.generation.lite(),
        bria.generation.tailored(tailored_model_id="1", structured_prompt="{}"),  # recreate needs a seed
        bria.generation.tailored(tailored_model_id="1", prompt="x", tailored_model_influence=2.0),
        bria.generation.lite(prompt="x" * 20_000),
        bria.projects.create("p", ip_medium="photography", ip_type="icons"),
    ]
    for coro in cases:
        with pytest.raises(BriaValidationError):
            await coro
    assert emulator.stats()["mutating_requests"] == 0


async def test_faults_map_to_typed_errors(bria, emulator):
    emulator.set_faults(
        {"rules": [{"op": "get-projects", "kind": "status", "code": 403, "message": "Access denied"}]}
    )
    with pytest.raises(PermissionDeniedError, match="Access denied"):
        await bria.projects.list()
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "status", "code": 460}]})
    with pytest.raises(ImageDownloadError):
        await bria.projects.list()
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "status", "code": 500}]})
    with pytest.raises(ServerError):
        await bria.projects.list()
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "status", "code": 429}]})
    with pytest.raises(RateLimitedError):
        await bria.projects.list()
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "html"}]})
    with pytest.raises(BriaResponseError, match="HTML"):
        await bria.projects.list()
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "truncate"}]})
    with pytest.raises(BriaResponseError, match="malformed JSON"):
        await bria.projects.list()


async def test_job_error_is_a_failure(bria, emulator):
    emulator.set_faults({"rules": [{"op": "image-generate-lite", "kind": "job_error"}]})
    with pytest.raises(JobFailedError) as info:
        await bria.generation.generate(GenerateLiteRequest(prompt="x"))
    assert info.value.status == "ERROR" and info.value.request_id


async def test_connect_error_on_a_closed_port(sleeps):
    settings = BriaSettings(api_token=SecretStr("t" * 12), base_url="http://127.0.0.1:9", max_retries=2)
    async with BriaClient(settings, sleep=sleeps, rng=random.Random(1)) as bria:
        with pytest.raises(BriaConnectError) as info:
            await bria.projects.create("p", ip_medium="photography", ip_type="other")
    assert info.value.applied is Applied.NO and len(sleeps.calls) == 2  # a POST that never arrived is resent


async def test_read_timeout_is_typed(emulator, settings, sleeps):
    emulator.set_faults({"rules": [{"op": "get-projects", "kind": "delay_headers", "delay_ms": 1500}]})
    quick = settings.model_copy(update={"read_timeout": 0.3, "max_retries": 1})
    async with BriaClient(quick, sleep=sleeps) as bria:
        with pytest.raises(BriaTimeoutError) as info:
            await bria.projects.list()
    assert info.value.applied is Applied.MAYBE


async def test_unknown_response_fields_and_values_are_kept(bria, emulator):
    project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
    emulator.set_faults(
        {"rules": [{"op": "get-project-by-id", "kind": "extra_fields", "fields": {"tier": "gold"}}]}
    )
    fetched = await bria.projects.get(project.id)
    assert fetched.id == project.id and fetched.model_extra.get("tier") == "gold"
    dataset = await bria.datasets.create(project.id, "d")
    model = await bria.models.create("m", dataset.id)
    emulator.set_faults({"rules": [{"op": "get-model", "kind": "schema_drift", "status_value": "Queued"}]})
    drifted = await bria.models.get(model.id)
    assert drifted.status == "Queued" and drifted.known_status is None  # kept, never mistaken for success
