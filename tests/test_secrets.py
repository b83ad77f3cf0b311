"""The token never appears in logs (even at DEBUG, httpx/httpcore included), reprs or exception text."""

from __future__ import annotations

import base64
import logging
import traceback
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from bria_api import BriaClient, BriaError
from bria_api.redaction import REDACTOR, register_secret
from tests.conftest import TOKEN


def _forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("=")]


async def test_token_absent_from_debug_logs_and_errors(emulator, settings, sleeps, caplog):
    caplog.set_level(logging.DEBUG)  # root: httpx, httpcore, bria_api all at DEBUG
    texts: list[str] = []
    emulator.set_faults(
        {
            "rules": [
                {"op": "get-projects", "kind": "status", "code": 503, "times": 2},
                {"op": "create-project", "kind": "commit_then_drop", "times": 1},
                {"op": "get-model", "kind": "status", "code": 500},
            ]
        }
    )
    async with BriaClient(settings, sleep=sleeps) as bria:
        texts += [repr(bria), repr(bria.transport), repr(bria.settings), str(bria.settings.model_dump())]
        await bria.projects.list()
        for call in (
            bria.projects.create("p", ip_medium="photography", ip_type="other"),
            bria.models.get(1),
            bria.generation.lite(prompt="x", seed=-1),
        ):
            try:
                await call
            except BriaError as exc:
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    bad = settings.model_copy(update={"api_token": SecretStr(TOKEN + "-revoked")})
    async with BriaClient(bad, sleep=sleeps) as bria:
        try:
            await bria.projects.list()
        except BriaError as exc:
            texts += [str(exc), "".join(traceback.format_exception(exc))]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx debug logging really ran
    assert any("retrying" in r.getMessage() for r in caplog.records)
    haystack = caplog.text + "\n".join(texts)
    for form in _forms(TOKEN):
        assert form not in haystack


def test_redactor_scrubs_third_party_records(caplog):
    secret = "third-party-leak-7d1e2f"
    register_secret(secret)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpcore.http11").debug("send_request_headers api_token=%s", secret)
    logging.getLogger("bria_api.transport").warning("echo %s", base64.b64encode(secret.encode()).decode())
    assert secret not in caplog.text and "[REDACTED]" in caplog.text
    assert REDACTOR.scrub(f"x {quote(secret)} y") == "x [REDACTED] y"


@pytest.mark.parametrize("field", ["api_token"])
def test_settings_never_render_the_token(field, settings):
    assert TOKEN not in repr(settings) and TOKEN not in settings.model_dump_json()
