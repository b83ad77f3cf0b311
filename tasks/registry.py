"""Which flow run owns which training: one Prefect Variable per training model (``bria-training-<id>``).

Written when a run starts or re-attaches to a training; read by the watcher (progress, events that resume
the owner) and by the reaper (trainings whose owner was cancelled or crashed). Bria stays the truth about
the model; this only says who is waiting for it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from prefect.client.orchestration import get_client
from prefect.variables import Variable
from pydantic import BaseModel

PREFIX = "bria-training-"
_PAGE = 200  # the most the server returns per call (PREFECT_API_DEFAULT_LIMIT)


class TrainingRecord(BaseModel):
    model_id: int
    model_name: str | None = None
    flow_run_id: str | None = None
    started_at: datetime
    expected_seconds: float = 5 * 3600
    last_status: str | None = None
    progress_artifact_id: str | None = None
    stall_reported: bool = False

    @property
    def variable_name(self) -> str:
        return f"{PREFIX}{self.model_id}"

    def elapsed(self, now: datetime | None = None) -> float:
        return max(0.0, ((now or datetime.now(UTC)) - self.started_at).total_seconds())


async def save_record(record: TrainingRecord) -> None:
    await Variable.aset(record.variable_name, record.model_dump(mode="json"), overwrite=True)


async def read_record(model_id: int) -> TrainingRecord | None:
    value = await Variable.aget(f"{PREFIX}{model_id}", default=None)
    return TrainingRecord.model_validate(value) if value else None


async def read_records() -> list[TrainingRecord]:
    """Every training record. The server answers at most a page (200) of variables per call, so this filters by
    name and pages: reading "all variables" once missed records on a server holding more than 200 of them."""
    found: list[TrainingRecord] = []
    async with get_client() as client:
        for offset in itertools.count(0, _PAGE):
            body = {
                "variables": {"name": {"like_": PREFIX}},
                "sort": "NAME_ASC",
                "limit": _PAGE,
                "offset": offset,
            }
            page = (await client.request("POST", "/variables/filter", json=body)).json()
            found += [
                TrainingRecord.model_validate(v["value"])
                for v in page
                if v["name"].startswith(PREFIX) and v.get("value")
            ]
            if len(page) < _PAGE:
                break
    return sorted(found, key=lambda r: r.model_id)


async def drop_record(model_id: int) -> None:
    await Variable.aunset(f"{PREFIX}{model_id}")
