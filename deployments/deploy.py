"""``bria-flows deploy``: every user-facing flow as a deployment on a process work pool, plus what they need.

Creates (idempotently): the work pool, the ``bria-credentials`` and ``inferencesh-credentials`` block
types, the token's shared rate limit ``bria-api-<fingerprint>`` (when BRIA_API_TOKEN is set here; otherwise
the first run creates it, ``tasks/rate_budget.py``), one deployment per flow with its schedules, the
automation that resumes a suspended lifecycle run when the watcher reports its training ended, and triggers
(off by default: they spend credits) that start a standalone generation or a golden gallery from the same
event. The nightly generation follows the ``promoted`` alias. Nothing secret is written anywhere:
credentials are a block chosen at run time.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.events.actions import ResumeFlowRun
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Interval

ROOT = Path(__file__).resolve().parents[1]
WORK_POOL = "bria-process"
RESUME_AUTOMATION = "bria-resume-lifecycle-on-training-end"
TRAINING_ENDED = [
    "bria.model.training.completed",
    "bria.model.training.failed",
    "bria.model.training.stopped",
]


@dataclass
class Spec:
    name: str
    entrypoint: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list = field(default_factory=list)
    concurrency_limit: int | None = None
    triggers: list = field(default_factory=list)


def specs() -> list[Spec]:
    return [
        Spec(
            "prepare-dataset",
            "flows/dataset.py:prepare_dataset",
            "Lint, upload, caption and complete a dataset.",
        ),
        Spec(
            "train-model", "flows/training.py:train_model", "Train a tailored model and wait (polling mode)."
        ),
        Spec(
            "lifecycle",
            "flows/lifecycle.py:tailored_lifecycle",
            "Prepare → train → sample images; waits for training without holding a worker (suspend mode).",
            parameters={"wait_mode": "suspend"},
        ),
        Spec(
            "generate",
            "flows/generation.py:generate_images",
            'Batch generation with a tailored model; model_id "promoted" (the default here) is the model '
            "an approved golden gallery promoted, resolved when each run starts. The nightly schedule is "
            "created paused: set its prompts_file, then activate it.",
            parameters={"model_id": "promoted"},
            schedules=[Cron("0 2 * * *", timezone="UTC", active=False, slug="nightly")],
            triggers=[
                DeploymentEventTrigger(
                    name="generate-when-training-completes",
                    enabled=False,  # opt in from the UI: it spends credits on every completed training
                    expect={"bria.model.training.completed"},
                    match={"prefect.resource.id": "bria.model.*"},
                    parameters={"model_id": "{{ event.resource['bria.model-id'] }}"},
                )
            ],
        ),
        Spec(
            "golden-gallery",
            "flows/gallery.py:golden_gallery",
            "The golden prompts rendered by a candidate model next to the promoted one; approving (Resume) "
            "moves the promoted alias. Waits for the decision without holding a worker (suspend).",
            parameters={"wait_mode": "suspend"},
            triggers=[
                DeploymentEventTrigger(
                    name="gallery-when-training-completes",
                    enabled=False,  # opt in from the UI: it renders (and pays for) the golden prompts
                    expect={"bria.model.training.completed"},
                    match={"prefect.resource.id": "bria.model.*"},
                    parameters={"model_id": "{{ event.resource['bria.model-id'] }}"},
                )
            ],
        ),
        Spec(
            "generate-lite",
            "flows/generation.py:generate_lite",
            "FIBO Lite text-to-image on Bria (native endpoint) or inference.sh (backend=inferencesh).",
        ),
        Spec(
            "training-watcher",
            "flows/watcher.py:watch_trainings",
            "Checks every waiting training; emits the events that resume suspended lifecycle runs.",
            schedules=[Interval(300, slug="every-5-minutes")],
            concurrency_limit=1,
        ),
        Spec(
            "orphan-reaper",
            "flows/reaper.py:reap_orphans",
            "Stops trainings whose owning run was cancelled or crashed.",
            schedules=[Cron("17 * * * *", timezone="UTC", slug="hourly")],
            concurrency_limit=1,
        ),
    ]


async def _ensure_infrastructure(work_pool: str, requests_per_minute: int) -> None:
    from tasks.credentials import BriaCredentials, InferenceShCredentials
    from tasks.rate_budget import ensure_limit, limit_name, spec_for

    async with get_client() as client:
        try:
            await client.read_work_pool(work_pool)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=work_pool, type="process"))
        if not await client.read_automations_by_name(RESUME_AUTOMATION):
            await client.create_automation(
                AutomationCore(
                    name=RESUME_AUTOMATION,
                    description="Resume the lifecycle run waiting for a training (the event's related flow run).",
                    trigger=EventTrigger(
                        expect=set(TRAINING_ENDED),
                        match={"prefect.resource.id": "bria.model.*"},
                        posture=Posture.Reactive,
                        threshold=1,
                    ),
                    actions=[ResumeFlowRun()],
                )
            )
    await BriaCredentials.register_type_and_schema()
    await InferenceShCredentials.register_type_and_schema()
    if token := os.environ.get("BRIA_API_TOKEN", "").strip():  # a block's token: created by its first run
        await ensure_limit(limit_name(token), spec_for(requests_per_minute))


def deploy_all(work_pool: str = WORK_POOL, requests_per_minute: int = 60) -> list[str]:
    """Create or update everything; returns the deployment names."""
    asyncio.run(_ensure_infrastructure(work_pool, requests_per_minute))
    from prefect import flow as prefect_flow

    names = []
    for spec in specs():
        loaded = prefect_flow.from_source(source=str(ROOT), entrypoint=spec.entrypoint)
        loaded.deploy(
            name=spec.name,
            work_pool_name=work_pool,
            description=spec.description,
            parameters=spec.parameters or None,
            schedules=spec.schedules or None,
            concurrency_limit=spec.concurrency_limit,
            triggers=spec.triggers or None,
            tags=["bria"],
            build=False,
            push=False,
            print_next_steps=False,
            ignore_warnings=True,
        )
        names.append(f"{loaded.name}/{spec.name}")
    return names
