"""``BriaCredentials``: a Prefect Block holding the token (encrypted by Prefect) and the base URL.

Flows take a block (the UI offers it as a picker) and fall back to ``BriaSettings`` from the environment;
the token is never a flow parameter. Register with ``prefect block register -m tasks.credentials``.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from bria_api import BriaSettings
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
