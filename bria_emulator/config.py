"""Emulator configuration (embedding API and CLI share it)."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from bria_emulator.faults import FaultProfile

DEFAULT_TOKEN = "bria-emulator-token"
DEFAULT_INFERENCE_KEY = "inf-emulator-key"


class EmulatorConfig(BaseModel):
    """Knobs of one emulator instance.

    api_token: the accepted `api_token` header; None -> env BRIA_API_TOKEN -> DEFAULT_TOKEN.
    time_scale: emulated seconds per real second (3600 makes a 6 h training take 6 s).
    training_seconds: emulated training duration; None = realistic 4-6 h drawn per model.
    generation_seconds: emulated duration of an async v2 image job.
    seed: makes random seeds and training durations reproducible.
    public_url: base for absolute URLs (status_url, file URLs); None = the request's own base URL.
    inference_api_key: the Bearer key of the emulated inference.sh API under /inferencesh;
        None -> env INFERENCE_API_KEY -> DEFAULT_INFERENCE_KEY.
    """

    api_token: str | None = Field(default=None, repr=False)
    time_scale: float = Field(1.0, gt=0)
    training_seconds: float | None = Field(None, ge=0)
    generation_seconds: float = Field(10.0, ge=0)
    seed: int = 0
    faults: FaultProfile = Field(default_factory=FaultProfile)
    public_url: str | None = None
    inference_api_key: str | None = Field(default=None, repr=False)

    def resolved_token(self) -> str:
        return self.api_token or os.environ.get("BRIA_API_TOKEN") or DEFAULT_TOKEN

    def resolved_inference_key(self) -> str:
        return self.inference_api_key or os.environ.get("INFERENCE_API_KEY") or DEFAULT_INFERENCE_KEY

    def token_source(self) -> str:
        """Where the token came from (safe to print; never the value)."""
        if self.api_token:
            return "config"
        return "env BRIA_API_TOKEN" if os.environ.get("BRIA_API_TOKEN") else "default"
