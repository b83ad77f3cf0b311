"""``BriaCredentials`` and ``InferenceShCredentials``: Prefect Blocks holding a key (encrypted by Prefect)
and a base URL.

Flows take a block (the UI offers it as a picker) and fall back to settings from the environment; a key is
never a flow parameter. Register both with ``prefect block register -m tasks.credentials``.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from bria_api import BriaSettings
from bria_api.inferencesh.settings import DEFAULT_BASE_URL as INFERENCE_BASE_URL
from bria_api.inferencesh.settings import InferenceShSettings
from bria_api.settings import DEFAULT_BASE_URL


class BriaCredentials(Block):
    """Credentials for Bria's API (or a Bria emulator)."""

    _block_type_name = "Bria Credentials"
    _block_type_slug = "bria-credentials"
    _description = "Bria API token and base URL, for bria-flows."
    _logo_url = None

    api_token: SecretStr = Field(description="Bria API token (Console → Organization → API keys).")
    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="Bria host root; /v1 and /v2 are added per call."
    )
    requests_per_minute: float | None = Field(
        default=None, description="Your plan's budget; env default if unset."
    )

    def to_settings(self) -> BriaSettings:
        """Settings from this block, other knobs from the environment."""
        overrides = {"api_token": self.api_token, "base_url": self.base_url}
        if self.requests_per_minute:
            overrides["requests_per_minute"] = self.requests_per_minute
        return BriaSettings(**overrides)


def resolve_settings(credentials: BriaCredentials | None) -> BriaSettings:
    """The block's settings when given, else the environment (``BRIA_API_TOKEN``, ``BRIA_BASE_URL``)."""
    return credentials.to_settings() if credentials is not None else BriaSettings()


class InferenceShCredentials(Block):
    """Credentials for inference.sh (the ``inferencesh`` backend of generate-lite), or its emulator."""

    _block_type_name = "Inference.sh Credentials"
    _block_type_slug = "inferencesh-credentials"
    _description = "inference.sh API key and base URL, for bria-flows' generate-lite."
    _logo_url = None

    api_key: SecretStr = Field(description="inference.sh API key (Settings → API keys).")
    base_url: str = Field(default=INFERENCE_BASE_URL, description="inference.sh API root.")

    def to_settings(self) -> InferenceShSettings:
        """Settings from this block; the app reference and field corrections from the environment."""
        return InferenceShSettings(api_key=self.api_key, base_url=self.base_url)


def resolve_inference_settings(credentials: InferenceShCredentials | None) -> InferenceShSettings:
    """The block's settings when given, else the environment (``INFERENCE_API_KEY``, ``INFERENCE_BASE_URL``)."""
    return credentials.to_settings() if credentials is not None else InferenceShSettings()
