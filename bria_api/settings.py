"""Client settings, read from the environment with the same names as Bria's own SDK (``BRIA_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bria_api.errors import MissingTokenError

DEFAULT_BASE_URL = "https://engine.prod.bria-api.com"


class BriaSettings(BaseSettings):
    """Everything the client needs to reach Bria (or the emulator).

    The token is a ``SecretStr`` end to end; ``hide_input_in_errors`` keeps it out of validation errors.
    """

    model_config = SettingsConfigDict(
        env_prefix="BRIA_", extra="ignore", hide_input_in_errors=True, validate_default=True
    )

    api_token: SecretStr | None = Field(default=None, description="Bria API token (env BRIA_API_TOKEN)")
    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="Host root; /v1 and /v2 are added per operation"
    )
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    write_timeout: float = Field(default=120.0, gt=0)
    pool_timeout: float = Field(default=30.0, gt=0)
    request_deadline: float = Field(
        default=180.0,
        gt=0,
        description="Hard wall-clock cap per HTTP attempt (httpx's read timeout is per chunk)",
    )
    operation_budget: float = Field(
        default=600.0, gt=0, description="Time budget per operation, retries included"
    )
    max_retries: int = Field(default=5, ge=0, le=20)
    # high enough that a flow's upload concurrency (up to 32) is not silently capped; the rpm budget paces
    max_concurrency: int = Field(default=32, ge=1, le=256)
    requests_per_minute: float = Field(
        default=60.0, gt=0, description="Plan budget (Free 10, PAYG 60, Enterprise 1000)"
    )
    retry_after_cap: float = Field(
        default=120.0, gt=0, description="Longer Retry-After values surface as RateLimitedError"
    )
    max_image_bytes: int = Field(
        default=12 * 1024 * 1024, gt=0, description="Bria rejects payloads over 12 MB"
    )
    http2: bool = False
    user_agent: str = "bria-flows/0.1 (python)"

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        for suffix in ("/v1", "/v2"):
            if value.endswith(suffix):
                value = value[: -len(suffix)]
        if (
            not value.startswith(("http://", "https://"))
            or "://" not in value
            or len(value.split("://", 1)[1]) == 0
        ):
            raise ValueError("BRIA_BASE_URL must be an http(s) URL such as https://engine.prod.bria-api.com")
        if "@" in value.split("://", 1)[1].split("/", 1)[0]:
            raise ValueError("BRIA_BASE_URL must not embed credentials; set BRIA_API_TOKEN instead")
        return value

    def require_token(self) -> SecretStr:
        """Return the token or raise a clear error naming the variable to set."""
        if self.api_token is None or not self.api_token.get_secret_value().strip():
            raise MissingTokenError(
                "No Bria API token configured: set the BRIA_API_TOKEN environment variable "
                "(or use a BriaCredentials block / a token file)."
            )
        return self.api_token
