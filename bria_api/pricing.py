"""What a call costs: a user-configurable price table (``BRIA_PRICE_*``) and estimates built from it.

Bria publishes no price for training and its generation prices depend on the plan, so every price is the
user's to set and defaults to 0, which means **unknown**, never free: an estimate with an unknown item says
"unknown" instead of adding 0, and a money budget cannot be enforced against an unknown price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Billable operation id (as in the OpenAPI specs and the emulator's credit counter) -> PriceTable field.
PRICE_FIELD_OF: dict[str, str] = {
    "start-training": "training",
    "image-generate-tailored": "tailored_image",
    "image-generate": "image",
    "image-generate-lite": "lite_image",
    "structured-prompt-generate": "structured_prompt",
    "structured-prompt-generate-lite": "structured_prompt",
    "structured-prompt-generate-from-diff": "structured_prompt",
    "structured-prompt-generate-tailored": "structured_prompt",
    "generate-video-from-tailored-image": "video",
    "generate-visual-schema": "visual_schema",
    "refine-json": "refine",
    "inferencesh-generate-lite": "inferencesh_lite_image",  # billed by inference.sh, not Bria
}


def money(amount: float | None, currency: str) -> str:
    return "unknown" if amount is None else f"{amount:.2f} {currency}"


class UnknownPriceError(ValueError):
    """A money budget was asked for, but the price of what it would pay for is not configured."""


class PriceTable(BaseSettings):
    """Price per billable call, in ``currency``; 0 = unknown. Env: ``BRIA_PRICE_TRAINING=25`` and so on."""

    model_config = SettingsConfigDict(env_prefix="BRIA_PRICE_", extra="ignore")

    currency: str = Field(default="USD", min_length=1, max_length=8)
    training: float = Field(default=0.0, ge=0, description="One tailored-model training (start_training)")
    tailored_image: float = Field(default=0.0, ge=0, description="One image from a tailored model")
    image: float = Field(default=0.0, ge=0, description="One FIBO image (/v2/image/generate)")
    lite_image: float = Field(default=0.0, ge=0, description="One FIBO Lite image")
    structured_prompt: float = Field(default=0.0, ge=0, description="One structured prompt (any flavour)")
    video: float = Field(default=0.0, ge=0, description="One image-to-video clip")
    visual_schema: float = Field(default=0.0, ge=0, description="One visual-schema generation")
    refine: float = Field(default=0.0, ge=0, description="One structured-prompt refinement")
    inferencesh_lite_image: float = Field(
        default=0.0, ge=0, description="One FIBO Lite image on inference.sh"
    )

    def price(self, operation: str) -> float | None:
        """The price of one ``operation`` call; None when unknown (not configured).

        Raises:
            KeyError: ``operation`` is not a billable operation.
        """
        value = float(getattr(self, PRICE_FIELD_OF[operation]))
        return value if value > 0 else None

    def money(self, amount: float | None) -> str:
        return money(amount, self.currency)

    def estimate(self, counts: Mapping[str, int]) -> Estimate:
        """The cost of ``counts`` calls per operation (operations counted 0 times are left out)."""
        lines = [EstimateLine(op, n, self.price(op)) for op, n in counts.items() if n > 0]
        return Estimate(lines, self.currency)

    def env_name(self, operation: str) -> str:
        """The variable that sets ``operation``'s price, for error messages."""
        return f"BRIA_PRICE_{PRICE_FIELD_OF[operation].upper()}"


@dataclass(frozen=True)
class EstimateLine:
    operation: str
    count: int
    unit_price: float | None  # None: unknown

    @property
    def amount(self) -> float | None:
        return None if self.unit_price is None else self.unit_price * self.count


@dataclass(frozen=True)
class Estimate:
    lines: list[EstimateLine]
    currency: str = "USD"

    @property
    def known_total(self) -> float:
        return sum(line.amount or 0.0 for line in self.lines)

    @property
    def unknown(self) -> list[str]:
        """Operations whose price is not configured."""
        return [line.operation for line in self.lines if line.unit_price is None]

    @property
    def total(self) -> float | None:
        """The whole estimate, or None when any item's price is unknown."""
        return None if self.unknown else self.known_total

    def describe(self) -> str:
        """``12.50 USD``, ``unknown (prices not set: start-training)`` or ``at least 2.00 USD, plus ...``."""
        if not self.lines:
            return f"0.00 {self.currency} (nothing billable)"
        if not self.unknown:
            return f"{self.known_total:.2f} {self.currency}"
        missing = ", ".join(self.unknown)
        if self.known_total > 0:
            return f"at least {self.known_total:.2f} {self.currency}, plus unknown ({missing}: price not set)"
        return f"unknown ({missing}: price not set)"

    def as_rows(self) -> list[dict[str, str]]:
        return [
            {
                "operation": line.operation,
                "count": str(line.count),
                "unit price": money(line.unit_price, self.currency),
                "amount": money(line.amount, self.currency),
            }
            for line in self.lines
        ]


def affordable(budget: float, unit_price: float | None, operation: str, prices: PriceTable) -> int:
    """How many ``operation`` calls fit in ``budget`` (in ``prices.currency``), never rounding up.

    Raises:
        UnknownPriceError: the price is not configured, so a money budget cannot be enforced.
    """
    if unit_price is None:
        raise UnknownPriceError(
            f"budget {budget:g} {prices.currency} cannot be enforced: the price of {operation} is unknown; "
            f"set {prices.env_name(operation)}, or cap the number of images with max_images instead"
        )
    # the epsilon keeps 3 x 0.1 within a budget of 0.3 despite binary floating point
    return int(budget / unit_price + 1e-9)
