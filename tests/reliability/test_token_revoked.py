"""Row 11: the token is revoked mid-run (401 after N calls) or refused (403).

The run must stop at the first rejection (no retry, no further request), fail with a message that says the
token was rejected, keep the training it started, and never print the token; a re-run with a working token
re-attaches to that training instead of starting another.
"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from bria_api import AuthenticationError, BriaClient, PermissionDeniedError, reconcile
from bria_api.manifest import build_manifest
from flows.params import TrainingParams
from flows.training import train_model
from tests.imagegen import distinct_images
from tests.reliability.conftest import TOKEN, client_for, completed_dataset, set_time_scale
from tests.reliability.figures import figure

pytestmark = pytest.mark.usefixtures("prefect_harness")

TRAINING = TrainingParams(model_name="brand model", poll_initial_seconds=0.05, poll_max_seconds=0.1)
# train_model's calls before its polls: find model, create model, read model, start training
CALLS_BEFORE_POLLING = 4


def _after_first_rejection(emulator) -> tuple[int, int]:
    """(requests answered 401/403, requests that arrived after the first rejection was answered)."""
    log = sorted(emulator.requests(), key=lambda r: r["arrived"])
    rejected = [r for r in log if r["status"] in (401, 403)]
    first = min(r["answered"] for r in rejected)
    return len(rejected), sum(r["arrived"] > first for r in log)


async def test_row11_token_revoked_while_training_then_rerun_reattaches(flow_bria, caplog, capfd):
    project_id, dataset_id = await completed_dataset(flow_bria)
    set_time_scale(flow_bria, 60)  # a 30 min training now lasts 30 s: the revocation lands mid-training
    flow_bria.set_faults({"revoke_token_after": CALLS_BEFORE_POLLING + 2})  # the 3rd poll is refused
    caplog.set_level(logging.DEBUG)
    state = await train_model(project_id, dataset_id, TRAINING, return_state=True)
    assert state.is_failed()
    with pytest.raises(AuthenticationError) as info:
        await state.result()
    message = str(info.value)
    rejected, after = _after_first_rejection(flow_bria)
    flow_bria.set_faults({})  # a working token again (for this read and the re-run)
    (model,) = [m for m in await _models(flow_bria) if m.name == TRAINING.model_name]
    assert (rejected, after) == (1, 0)
    assert "token" in message.lower() and "rejected" in message.lower()
    assert model.status == "InProgress"  # the training goes on (a rejected token is no reason to stop it)
    assert flow_bria.stats()["trainings_started"] == 1

    set_time_scale(flow_bria, 3600)
    model_again = await train_model(project_id, dataset_id, TRAINING)
    assert model_again.id == model.id and model_again.status == "Completed"
    output = caplog.text + "".join(capfd.readouterr()) + message
    figure(
        11,
        f"token revoked during training polling: requests after the first 401 {after}, flow Failed "
        f"({message!r}), model {model.id} kept InProgress; re-run with a working token re-attached, new "
        f"trainings {flow_bria.stats()['trainings_started'] - 1}; token occurrences in output "
        f"{output.count(TOKEN)}",
    )
    assert flow_bria.stats()["trainings_started"] == 1
    assert TOKEN not in output


async def _models(emulator) -> list:
    async with client_for(emulator) as bria:
        return await bria.models.list()


class SendLog:
    """httpx event hooks: when the client sent each request and when it read each answer (client's view)."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.rejected_at: list[float] = []

    async def request(self, request: httpx.Request) -> None:
        self.sent.append(time.monotonic())

    async def response(self, response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            self.rejected_at.append(time.monotonic())

    def sent_after_first_rejection(self) -> int:
        return sum(t > min(self.rejected_at) for t in self.sent)


@pytest.mark.parametrize("code", [401, 403])
async def test_row11_rejection_mid_upload_sends_nothing_more(flow_bria, tmp_path, code):
    """Four uploads in flight, four more waiting: once Bria refuses the token, none of the waiting is sent."""
    folder = tmp_path / "brand"
    folder.mkdir()
    for i, data in enumerate(distinct_images(8, size=320)):
        (folder / f"img-{i}.png").write_bytes(data)
    async with client_for(flow_bria) as bria:
        project = await bria.projects.create("p", ip_medium="photography", ip_type="other")
        dataset = (await bria.datasets.create(project.id, "d")).id
    flow_bria.set_faults(
        {"revoke_token_after": 2}  # the listing and one upload pass
        if code == 401
        else {"rules": [{"op": "upload-image", "kind": "status", "code": 403, "after": 1}]}
    )
    hooks = SendLog()
    async with (
        httpx.AsyncClient(event_hooks={"request": [hooks.request], "response": [hooks.response]}) as http,
        BriaClient(client_for(flow_bria).settings, http_client=http) as bria,
    ):
        with pytest.raises(AuthenticationError if code == 401 else PermissionDeniedError):
            await reconcile.upload_missing(bria, dataset, build_manifest(folder), concurrency=4)
    figure(
        11,
        f"{code} during 4 concurrent uploads of 8: {len(hooks.rejected_at)} refused (already in flight), "
        f"requests sent after the first {code} {hooks.sent_after_first_rejection()}, uploads never sent "
        f"{8 - (len(hooks.sent) - 1)}",
    )
    assert hooks.sent_after_first_rejection() == 0
