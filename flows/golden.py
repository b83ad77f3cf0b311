"""The golden prompts file: a versioned set of prompts, each with a fixed seed and aspect ratio.

Galleries compare candidate models on exactly the same requests, so a prompt without its seed or ratio is
refused. Format (JSON; ``deployments/golden_prompts.example.json``)::

    {"version": "2025-06-01",
     "prompts": [{"id": "studio-hero", "prompt": "...", "seed": 1101, "aspect_ratio": "1:1"}, ...]}

``id``: lowercase letters, digits and dashes, unique (it names the files); optional ``negative_prompt``. Change
prompts only together with ``version``: the alias records which version approved a model.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bria_api import BriaValidationError
from flows.params import AspectRatio

DEFAULT_GOLDEN_PROMPTS = Path(__file__).resolve().parents[1] / "deployments" / "golden_prompts.example.json"


class GoldenPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    prompt: str = Field(min_length=1, max_length=10_000)
    seed: int = Field(ge=0, le=2_147_483_647)
    aspect_ratio: AspectRatio
    negative_prompt: str | None = None


class GoldenPrompts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=64)
    description: str | None = None
    prompts: list[GoldenPrompt] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_ids(self) -> GoldenPrompts:
        seen: set[str] = set()
        for prompt in self.prompts:
            if prompt.id in seen:
                raise ValueError(f"prompt id {prompt.id!r} appears twice")
            seen.add(prompt.id)
        return self


def load_golden(path: Path) -> GoldenPrompts:
    """Read and check the file; every problem names the file and the field, before anything is spent."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BriaValidationError(f"{path}: golden prompts file not found", field=str(path)) from None
    except ValueError as exc:
        raise BriaValidationError(f"{path}: not valid JSON ({exc})", field=str(path)) from None
    try:
        return GoldenPrompts.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise BriaValidationError(f"{path}: {problems}", field=str(path)) from None
