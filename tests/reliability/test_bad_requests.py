"""Rows 25 and 26: oversized and out-of-range requests are refused before HTTP, naming the field; every request
model is property-tested (>= 500 examples each): one broken field is always refused, and what the models
accept, the emulator (as Bria) accepts too.
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr, ValidationError

import bria_api.models as models
from bria_api import (
    OPERATIONS,
    BriaAPIError,
    BriaClient,
    BriaSettings,
    BriaValidationError,
    MissingTokenError,
    PayloadTooLargeError,
)
from bria_api.models.base import RequestModel
from tests.conftest import TOKEN
from tests.imagegen import distinct_images
from tests.reliability.figures import figure
from tests.reliability.request_strategies import Context, invalid_fields, valid_fields

REQUEST_MODELS = sorted(
    (
        m
        for m in vars(models).values()
        if isinstance(m, type) and issubclass(m, RequestModel) and m is not RequestModel
    ),
    key=lambda m: m.__name__,
)
EXAMPLES = 500
MB = 1024 * 1024
REJECTED = {400, 413, 415, 422}  # "your request is invalid" (404/409/412 are about remote state)


def test_every_request_model_is_covered():
    assert len(REQUEST_MODELS) == 21, [m.__name__ for m in REQUEST_MODELS]


# -- row 26, locally: one broken field is always refused, naming that field, never echoing it ---------------


@pytest.mark.slow  # 10 500 examples: ~40 s
@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__name__)
def test_row26_one_broken_field_is_always_refused_naming_it(model):
    """Row 26: 500 examples per model, each valid but for one field (range, type, length, enum, unknown)."""
    refused: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(invalid_fields(model, Context()))
    def check(case: tuple[str, dict[str, Any]]) -> None:
        culprit, fields = case
        with pytest.raises(ValidationError) as info:
            model(**fields)
        named = {str(e["loc"][0]) for e in info.value.errors() if e["loc"]}  # a field's own error
        named |= {
            culprit for e in info.value.errors() if not e["loc"] and culprit in e["msg"]
        }  # a model rule
        assert culprit in named, (culprit, info.value)
        assert "input_value" not in str(info.value)  # the input is never echoed (it may hold a secret)
        refused[culprit] += 1

    check()
    assert sum(refused.values()) == EXAMPLES


# -- row 26, over HTTP: what the models accept, Bria accepts -------------------------------------------------


async def _context(bria: BriaClient, emulator) -> tuple[Context, dict[str, Any]]:
    """Real resources the valid examples point at: a draft dataset with an image, a completed one, a trained model."""
    project = await bria.projects.create("props", ip_medium="photography", ip_type="other")
    draft = await bria.datasets.create(project.id, "draft")
    await bria.datasets.update(draft.id, visual_schema='{"style": "studio"}')
    image = await bria.images.upload(
        draft.id, distinct_images(1, size=1024, fmt="JPEG")[0], image_name="a.jpg"
    )
    done = await bria.datasets.create(project.id, "done")
    await bria.datasets.update(done.id, visual_schema='{"style": "studio"}')
    for i, data in enumerate(distinct_images(5, size=320)):
        await bria.images.upload(done.id, data, image_name=f"{i}.png")
    await bria.datasets.complete(done.id)
    trained = await bria.models.create("trained", done.id)
    await bria.models.start_training(trained.id)
    emulator.advance(6 * 3600)
    small = distinct_images(1, size=1024, fmt="JPEG")[0]
    ctx = Context(
        image_url=image.image_url or "",
        webhook_url="http://127.0.0.1:9/hook",  # a closed loopback port: deliveries fail fast, offline
        ids={
            "project_id": project.id,
            "dataset_id": done.id,
            "tailored_model_id": str(trained.id),
            "file": base64.b64encode(small).decode(),
            "sync": False,  # async jobs: the 202 is Bria's verdict on the request
        },
    )
    where = {
        "project": project.id,
        "draft": draft.id,
        "image": image.id,
        "done": done.id,
        "model": trained.id,
    }
    return ctx, where


async def _send(
    bria: BriaClient, model: type[RequestModel], request: RequestModel, where: dict[str, Any]
) -> int:
    """Send one accepted request as the client would; returns the emulator's status."""
    body, call = request.to_body(), bria.transport.call
    name = model.__name__
    if name in ("CreateDatasetRequest",):
        op, path = "create-dataset", {}
    elif name == "UpdateDatasetRequest":  # a fresh draft each time: completing one must not affect the next
        fresh = await bria.datasets.create(where["project"], "upd")
        op, path = "update-dataset", {"dataset_id": fresh.id}
    elif name == "CloneDatasetRequest":
        op, path = "clone-dataset", {"dataset_id": where["draft"]}
    elif name == "UploadImageRequest":
        op, path = "upload-image", {"dataset_id": where["draft"]}
    elif name == "UpdateCaptionRequest":
        op, path = "update-image-caption", {"dataset_id": where["draft"], "image_id": where["image"]}
    elif (
        name == "BulkUploadRequest"
    ):  # one attempt per dataset, by contract: a fresh advanced dataset each time
        fresh = await bria.datasets.create(where["project"], "bulk", upload_type="advanced")
        op, path = "bulk-upload-images", {"dataset_id": fresh.id}
    elif name == "VisualSchemaRequest":
        op, path = "generate-visual-schema", {}
    elif name == "RefineStructuredPromptRequest":
        op, path = "refine-json", {}
    elif name == "CreateProjectRequest":
        op, path = "create-project", {}
    elif name == "UpdateProjectRequest":
        op, path = "update-project", {"project_id": where["project"]}
    elif name == "CreateModelRequest":
        op, path = "create-model", {}
    elif name == "UpdateModelRequest":
        op, path = "update-model", {"model_id": where["model"]}
    elif name == "TrainingParameters":  # expert parameters need a fresh expert model
        fresh = await bria.models.create("expert", where["done"], training_mode="expert")
        op, path = "start-training", {"model_id": fresh.id}
    else:
        from bria_api.resources.generation import OPERATION_OF

        op, path = OPERATION_OF[model], {}
    try:
        response = await call(OPERATIONS[op], path=path, json=body)
    except BriaAPIError as exc:
        return exc.status_code
    return response.status_code


@pytest.mark.slow  # ~10 000 local validations and a few thousand requests to the emulator
@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__name__)
async def test_row26_what_the_models_accept_the_emulator_accepts(model, bria, emulator):
    """Row 26: 500 field-wise valid examples per model; every one the model accepts is sent: none is refused
    as invalid (400/413/415/422); the ones the model refuses send nothing."""
    ctx, where = await _context(bria, emulator)
    if model.__name__ == "RefineStructuredPromptRequest":  # refining works on a draft dataset
        ctx.ids["dataset_id"] = where["draft"]
    accepted: list[RequestModel] = []
    refused = Counter[str]()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(valid_fields(model, ctx))
    def check(fields: dict[str, Any]) -> None:
        try:
            accepted.append(model(**fields))
        except ValidationError as exc:  # a combination the model forbids (e.g. both or neither prompt)
            refused[str(exc.errors()[0]["msg"])[:60]] += 1

    before = emulator.stats()["mutating_requests"]
    check()
    assert emulator.stats()["mutating_requests"] == before  # refusing locally sent nothing
    statuses = Counter([await _send(bria, model, request, where) for request in accepted])
    rejected = {code: n for code, n in statuses.items() if code in REJECTED}
    figure(
        26,
        f"{model.__name__}: {EXAMPLES} examples, {len(accepted)} accepted by the model and sent -> "
        f"{dict(statuses)}; refused locally {sum(refused.values())} (0 requests); valid rejected {rejected or 0}",
    )
    assert not rejected, (model.__name__, rejected)


# -- rows 25 and 26 through the client's own entry points ----------------------------------------------------

BAD_CALLS = {  # case -> (client call, the field its error must name)
    "row25 1 MB prompt": (lambda b: b.generation.lite(prompt="x" * MB), "prompt"),
    "row25 10 MB structured prompt": (
        lambda b: b.generation.tailored(
            tailored_model_id="1", structured_prompt='{"a": "' + "x" * (10 * MB) + '"}', seed=1
        ),
        "structured_prompt",
    ),
    "row25 1 MB negative prompt": (
        lambda b: b.generation.tailored(tailored_model_id="1", prompt="x", negative_prompt="n" * MB),
        "negative_prompt",
    ),
    "row26 influence 1.6": (
        lambda b: b.generation.tailored(tailored_model_id="1", prompt="x", tailored_model_influence=1.6),
        "tailored_model_influence",
    ),
    "row26 influence -0.1": (
        lambda b: b.generation.tailored(tailored_model_id="1", prompt="x", tailored_model_influence=-0.1),
        "tailored_model_influence",
    ),
    "row26 guidance 2": (
        lambda b: b.generation.tailored(tailored_model_id="1", prompt="x", guidance_scale=2),
        "guidance_scale",
    ),
    "row26 guidance 6": (lambda b: b.generation.lite(prompt="x", guidance_scale=6), "guidance_scale"),
    "row26 steps 19": (
        lambda b: b.generation.tailored(tailored_model_id="1", prompt="x", steps_num=19),
        "steps_num",
    ),
    "row26 steps 51": (
        lambda b: b.generation.tailored(tailored_model_id="1", prompt="x", steps_num=51),
        "steps_num",
    ),
    "row26 aspect ratio 1:3": (lambda b: b.generation.lite(prompt="x", aspect_ratio="1:3"), "aspect_ratio"),
    "row26 seed -1": (lambda b: b.generation.lite(prompt="x", seed=-1), "seed"),
    "row26 seed 2**31": (lambda b: b.generation.lite(prompt="x", seed=2**31), "seed"),
    "row26 seed 'abc'": (lambda b: b.generation.lite(prompt="x", seed="abc"), "seed"),
    "row26 seed 1.5": (lambda b: b.generation.lite(prompt="x", seed=1.5), "seed"),
    "row26 neither prompt (lite)": (lambda b: b.generation.lite(aspect_ratio="1:1"), "GenerateLiteRequest"),
    "row26 neither prompt (tailored)": (
        lambda b: b.generation.tailored(tailored_model_id="1"),
        "TailoredImageRequest",
    ),
    "row26 structured prompt alone, no seed": (
        lambda b: b.generation.tailored(tailored_model_id="1", structured_prompt='{"a": 1}'),
        "TailoredImageRequest",
    ),
    "row26 structured prompt and images": (
        lambda b: b.generation.lite(structured_prompt='{"a": 1}', images=["https://x/y.png"], seed=1),
        "GenerateLiteRequest",
    ),
    "row26 icons + photography": (
        lambda b: b.projects.create("p", ip_medium="photography", ip_type="icons"),
        "CreateProjectRequest",
    ),
    "row26 object_variants + photography": (
        lambda b: b.projects.create(
            "p", ip_medium="photography", ip_type="object_variants", ip_description="a mug"
        ),
        "CreateProjectRequest",
    ),
    "row26 defined_character without ip_name": (
        lambda b: b.projects.create(
            "p", ip_medium="illustration", ip_type="defined_character", ip_description="a fox"
        ),
        "CreateProjectRequest",
    ),
    "row26 unknown ip_type": (
        lambda b: b.projects.create("p", ip_medium="photography", ip_type="portraits"),
        "ip_type",
    ),
    "row26 empty project name": (
        lambda b: b.projects.create("", ip_medium="photography", ip_type="other"),
        "project_name",
    ),
    "row26 dataset_id 0": (lambda b: b.datasets.create(0, "d"), "project_id"),
    "row26 unknown upload_type": (lambda b: b.datasets.create(1, "d", upload_type="bulk"), "upload_type"),
    "row26 caption that is not JSON": (
        lambda b: b.images.update_caption(1, 1, caption="{oops"),
        "UpdateCaptionRequest",
    ),
    "row26 caption and regenerate": (
        lambda b: b.images.update_caption(1, 1, caption='{"a":1}', regenerate_caption=True),
        "UpdateCaptionRequest",
    ),
    "row26 visual schema not JSON": (
        lambda b: b.datasets.update(1, visual_schema="style: studio"),
        "visual_schema",
    ),
    "row26 zip_url not http": (lambda b: b.images.bulk_upload(1, "ftp://x/a.zip"), "zip_url"),
    "row26 unknown training mode": (
        lambda b: b.models.create("m", 1, training_mode="manual"),
        "training_mode",
    ),
    "row26 4 schema images": (
        lambda b: b.datasets.generate_visual_schema([b"" for _ in range(4)]),
        "images[0]",
    ),
}


async def test_rows25_26_bad_calls_are_refused_naming_the_field_with_no_request(bria, emulator):
    """Rows 25-26: huge prompts, every out-of-range parameter, both/neither prompts, bad IP combinations."""
    for case, (call, field) in BAD_CALLS.items():
        with pytest.raises(BriaValidationError) as info:
            await call(bria)
        assert field in str(info.value), (case, str(info.value)[:300])
        assert len(str(info.value)) < 2000, case  # a megabyte prompt is never echoed back
    requests = sum(op["requests"] for op in emulator.stats()["operations"].values())
    figure(
        25,
        f"{len(BAD_CALLS)} bad calls (huge prompts, ranges, types, combinations) refused naming the field; "
        f"requests sent {requests}",
    )
    assert requests == 0


def test_row26_missing_token_and_malformed_base_url_fail_before_any_request(monkeypatch):
    """Row 26: no token, or a base URL that is not http(s): refused at construction, naming the variable."""
    monkeypatch.delenv("BRIA_API_TOKEN", raising=False)
    with pytest.raises(MissingTokenError, match="BRIA_API_TOKEN"):
        BriaClient(BriaSettings())
    for url in ("engine.prod.bria-api.com", "ftp://engine.prod.bria-api.com", "http://"):
        with pytest.raises(ValidationError, match="BRIA_BASE_URL"):
            BriaSettings(api_token=SecretStr(TOKEN), base_url=url)


async def test_row25_413_is_not_retried_and_logs_stay_short(bria, emulator, caplog):
    """Row 25: Bria's 413 is final (one attempt), and a long prompt never lands whole in a log line."""
    emulator.set_faults({"rules": [{"op": "image-generate-lite", "kind": "status", "code": 413}]})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PayloadTooLargeError):
        await bria.generation.lite(prompt="p" * 9_000)
    attempts = emulator.stats()["operations"]["image-generate-lite"]["requests"]
    longest = max((len(r.getMessage()) for r in caplog.records), default=0)
    figure(25, f"413: {attempts} attempt (no retry); longest log line {longest} chars for a 9000-char prompt")
    assert attempts == 1 and longest < 1000
