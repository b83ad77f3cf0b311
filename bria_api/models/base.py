"""Base classes: strict requests (nothing unknown leaves the machine), lenient responses (unknown fields kept)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: validated locally before any HTTP is sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True, frozen=True)

    def to_body(self) -> dict[str, Any]:
        """JSON body as the spec names it, leaving out unset optional fields (Bria applies its defaults)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ResponseModel(BaseModel):
    """A response: unknown extra fields are kept (``model_extra``), never fatal."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
