"""The budget cap of a generation batch: decided before the first submit, so a batch never exceeds it.

Images already paid for (saved with their sidecar, or submitted and pending) cost nothing more and always
run. New ones are admitted in prompt order while the estimated spend stays within ``budget`` and their
number within ``max_images``; the rest are skipped and reported (log and the ``batch-budget`` artifact),
never silently dropped. A money budget needs the price of the operation (``BRIA_PRICE_*``): with the price
unknown the flow stops before any call and says which variable to set (``max_images`` works without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from pydantic import BaseModel

from bria_api.pricing import PriceTable, affordable, money
from tasks.generation import already_paid


class BatchPlan(BaseModel):
    """Which requests of a batch run (indexes), which are skipped, and what the new ones are estimated at."""

    run: list[int]
    skipped: list[int]
    already_paid: int
    new: int
    unit_price: float | None
    currency: str
    cap: int | None  # the most new submissions allowed; None: no cap

    @property
    def estimate(self) -> str:
        return money(None if self.unit_price is None else self.unit_price * self.new, self.currency)


def plan_batch(
    requests: Sequence[Any],
    stems: Sequence[str],
    out_dir: Path,
    operation: str,
    *,
    budget: float | None = None,
    max_images: int | None = None,
    prices: PriceTable | None = None,
) -> BatchPlan:
    """Admit requests in order until the next new one would exceed ``budget`` or ``max_images``.

    Raises:
        UnknownPriceError: ``budget`` is set but ``operation`` has no configured price.
    """
    prices = prices or PriceTable()
    unit = prices.price(operation)
    cap = None if budget is None else affordable(budget, unit, operation, prices)
    if max_images is not None:
        cap = max_images if cap is None else min(cap, max_images)
    run: list[int] = []
    skipped: list[int] = []
    paid = new = 0
    for i, (request, stem) in enumerate(zip(requests, stems, strict=True)):
        if already_paid(request, out_dir, stem):
            paid += 1
            run.append(i)
        elif cap is None or new < cap:
            new += 1
            run.append(i)
        else:
            skipped.append(i)
    return BatchPlan(
        run=run,
        skipped=skipped,
        already_paid=paid,
        new=new,
        unit_price=unit,
        currency=prices.currency,
        cap=cap,
    )


async def report_plan(
    plan: BatchPlan, prompts: Sequence[str], budget: float | None, max_images: int | None
) -> None:
    """Log and publish the plan when a cap was set (``batch-budget``), naming every skipped prompt."""
    if budget is None and max_images is None:
        return
    logger = get_run_logger()
    limits = ", ".join(
        part
        for part in (
            f"budget {money(budget, plan.currency)}" if budget is not None else "",
            f"max_images {max_images}" if max_images is not None else "",
        )
        if part
    )
    if plan.skipped:
        logger.warning(
            "%s: %d of %d images skipped before submitting (not paid for)",
            limits,
            len(plan.skipped),
            len(prompts),
        )
    rows = "\n".join(f"| {i} | {prompts[i][:80]} |" for i in plan.skipped)
    skipped = f"\n\n### Skipped (not submitted)\n\n| # | prompt |\n|---|---|\n{rows}" if plan.skipped else ""
    await acreate_markdown_artifact(
        f"## Batch budget\n\n| | |\n|---|---|\n| limits | {limits} |\n| images in the batch | {len(prompts)} |\n"
        f"| already paid (reused or pending) | {plan.already_paid} |\n| new submits | {plan.new} |\n"
        f"| skipped by the cap | {len(plan.skipped)} |\n| unit price | {money(plan.unit_price, plan.currency)} |\n"
        f"| estimate of the new submits | {plan.estimate} |{skipped}\n",
        key="batch-budget",
        description=f"{plan.new} submitted, {len(plan.skipped)} skipped ({limits})",
    )
