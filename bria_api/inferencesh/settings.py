"""Settings of the inference.sh backend, from the environment (``INFERENCE_*``, the SDK's own key name)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bria_api.errors import MissingTokenError
from bria_api.inferencesh.app_fields import APP_REF

DEFAULT_BASE_URL = "https://api.inference.sh"


class InferenceShSettings(BaseSettings):
    """What the backend needs to reach inference.sh (or the emulator's ``/inferencesh``).

    The key is a ``SecretStr`` and never a flow parameter: ``INFERENCE_API_KEY`` or an
    ``InferenceShCredentials`` block.
    """

    model_config = SettingsConfigDict(
        env_prefix="INFERENCE_", extra="ignore", hide_input_in_errors=True, validate_default=True
    )

    api_key: SecretStr | None = Field(
        default=None, description="inference.sh API key (env INFERENCE_API_KEY)"
    )
    base_url: str = Field(default=DEFAULT_BASE_URL, description="API root (env INFERENCE_BASE_URL)")
    app: str = Field(default=APP_REF, description="App reference, optionally @version (env INFERENCE_APP)")
    input_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Corrections of app_fields.INPUT_FIELDS (env INFERENCE_INPUT_FIELDS)",
    )
    output_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Corrections of app_fields.OUTPUT_FIELDS (env INFERENCE_OUTPUT_FIELDS)",
    )
    download_timeout: float = Field(default=120.0, gt=0, description="Per output file download, seconds")

    @field_validator("base_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("INFERENCE_BASE_URL must be an http(s) URL")
        return value

    def require_key(self) -> str:
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            raise MissingTokenError(
                "No inference.sh API key: set the INFERENCE_API_KEY environment variable or give an "
                "InferenceShCredentials block"
            )
        return self.api_key.get_secret_value().strip()
