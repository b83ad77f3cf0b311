"""Settings: env names compatible with Bria's SDK, a clear missing-token error, secrets hidden."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from bria_api import BriaClient, BriaSettings, MissingTokenError

CANARY = "canary-token-6f1b2c3d4e"


def test_env_names_match_bria_sdk(monkeypatch):
    monkeypatch.setenv("BRIA_API_TOKEN", CANARY)
    monkeypatch.setenv("BRIA_BASE_URL", "http://127.0.0.1:9/v2/")
    settings = BriaSettings()
    assert settings.api_token.get_secret_value() == CANARY
    assert settings.base_url == "http://127.0.0.1:9"  # version suffix and slash dropped: added per operation
    assert CANARY not in repr(settings) and CANARY not in str(settings.model_dump())


def test_defaults_point_at_real_bria(monkeypatch):
    monkeypatch.delenv("BRIA_API_TOKEN", raising=False)
    monkeypatch.delenv("BRIA_BASE_URL", raising=False)
    settings = BriaSettings()
    assert settings.base_url == "https://engine.prod.bria-api.com"
    assert settings.http2 is False and settings.max_concurrency >= 1 and settings.requests_per_minute > 0


def test_missing_token_names_the_variable(monkeypatch):
    monkeypatch.delenv("BRIA_API_TOKEN", raising=False)
    with pytest.raises(MissingTokenError, match="BRIA_API_TOKEN"):
        BriaClient(BriaSettings())
    with pytest.raises(MissingTokenError, match="BRIA_API_TOKEN"):
        BriaSettings(api_token=SecretStr("   ")).require_token()


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "engine.prod.bria-api.com", "http://", f"https://{CANARY}@h"]
)
def test_malformed_base_url_is_refused_without_echo(url):
    with pytest.raises(ValidationError) as info:
        BriaSettings(api_token=SecretStr(CANARY), base_url=url)
    assert "BRIA_BASE_URL" in str(info.value)
    assert CANARY not in str(info.value)


def test_invalid_numbers_do_not_echo_input(monkeypatch):
    monkeypatch.setenv("BRIA_API_TOKEN", CANARY)
    with pytest.raises(ValidationError) as info:
        BriaSettings(max_concurrency=0)
    assert "max_concurrency" in str(info.value) and CANARY not in str(info.value)
