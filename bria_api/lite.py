"""FIBO Lite parameters shared by both backends (Bria's native endpoint and inference.sh's app).

The fields and ranges are the inference.sh app page's (guidance scale 3-5, steps 1-50, seed 0-2147483647,
png|jpeg). One request makes one image: ``num_images`` becomes that many single-image requests whose seeds
follow from ``seed`` (``seed + i``), on either backend, so the same parameters name the same images.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bria_api.models.enums import AspectRatio

MAX_SEED = 2_147_483_647


class LiteParams(BaseModel):
    """One FIBO Lite call as the flow takes it; every range is checked before any request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, max_length=10_000, description="What to generate.")
    reference_images: tuple[str, ...] = Field(
        default=(), description="Reference images: local paths or http(s) URLs."
    )
    num_images: int = Field(default=1, ge=1, le=16)
    aspect_ratio: AspectRatio = "1:1"
    guidance_scale: float | None = Field(
        default=None, ge=3, le=5, description="How closely to follow the prompt."
    )
    steps: int | None = Field(default=None, ge=1, le=50, description="Diffusion iterations.")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    output_format: Literal["png", "jpeg"] = "png"

    def per_image(self) -> list[LiteParams]:
        """One single-image call per image; seeds ``seed, seed+1, …`` (random per call when unset)."""
        return [
            self.model_copy(
                update={
                    "num_images": 1,
                    "seed": None if self.seed is None else (self.seed + i) % (MAX_SEED + 1),
                }
            )
            for i in range(self.num_images)
        ]
