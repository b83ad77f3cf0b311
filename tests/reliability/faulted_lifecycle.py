"""Running ``tailored_lifecycle`` (polling mode) under a seeded mix of faults and auditing what it left.

Lifecycles run a few at a time (each under its own project name) against one emulator whose fault profile
is seeded per batch; afterwards the emulator is read back, per project, into the figures the rows report.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image

from bria_emulator.faults import FaultProfile, FaultRule
from bria_emulator.server import EmulatorServer
from flows.lifecycle import tailored_lifecycle
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams

# Side effects Bria lets us look up afterwards (by name, by content hash, by status): a lost answer is
# reconciled, so these take every fault, including "committed, then the connection dropped".
RECONCILABLE_WRITES = [
    "create-project",
    "create-dataset",
    "update-dataset",  # visual schema, then status=completed (PUT: idempotent)
    "upload-image",
    "regenerate-all-captions",
    "create-model",
    "start-training",
]
# Credit-spending computations with nothing to look up (no idempotency key, no job listing): after an
# ambiguous failure nobody can tell whether it was paid for, so the client refuses to resend (see
# test_ambiguous_generation_submit_is_not_resent). They take only the faults that say "not applied".
UNRECONCILABLE_SPENDS = ["generate-visual-schema", "image-generate-tailored"]
SAMPLES = [PromptSpec(prompt="the product on a plain studio background", seed=1)]
IMAGES = 5
FAULT_ANSWERS = ("dropped", "429", "500", "502", "503", "504")


def mixed_faults(seed: int) -> FaultProfile:
    """20 % 5xx, 10 % 429 (half with Retry-After), 5 % resets, commit-then-drop/500 on writes, latency spikes."""
    rules = [FaultRule(kind="latency", probability=0.05, delay_ms=250, jitter_ms=150)]
    rules += [FaultRule(method="GET", kind="status", code=c, probability=0.05) for c in (500, 502, 503, 504)]
    rules.append(FaultRule(method="GET", kind="reset", probability=0.05))
    for op in RECONCILABLE_WRITES:
        rules += [
            FaultRule(op=op, kind="reset", probability=0.05),  # before the handler: nothing committed
            FaultRule(op=op, kind="commit_then_drop", probability=0.1),
            FaultRule(op=op, kind="status", code=500, commit=True, probability=0.05),  # committed, then 500
        ]
        rules += [FaultRule(op=op, kind="status", code=c, probability=0.05) for c in (502, 503, 504)]
    rules += [  # "not applied" by contract: a 503 with Retry-After
        FaultRule(op=op, kind="status", code=503, retry_after_ms=100, probability=0.2)
        for op in UNRECONCILABLE_SPENDS
    ]
    rules += [  # 429 on every operation: half with Retry-After (ms form), half without
        FaultRule(kind="status", code=429, retry_after_ms=150, probability=0.05),
        FaultRule(kind="status", code=429, probability=0.05),
    ]
    return FaultProfile(seed=seed, rules=rules)


def lifecycle_params(images: Path, project: str) -> tuple[ProjectParams, DatasetParams, TrainingParams]:
    return (
        ProjectParams(project_name=project),
        DatasetParams(name="brand v1", images_dir=images, caption_poll_seconds=0.05, schema_sample_size=5),
        TrainingParams(model_name="brand model", poll_initial_seconds=0.1, poll_max_seconds=0.3),
    )


@dataclass
class RunAudit:
    """What one lifecycle left on the emulator (found by its project name) and on disk."""

    project: str
    projects: int
    datasets: int
    models: int
    model_status: str
    images_in_dataset: int
    duplicate_contents: int
    images_saved: int
    checksums_ok: int

    @property
    def duplicates(self) -> int:
        return (
            sum(max(0, n - 1) for n in (self.projects, self.datasets, self.models)) + self.duplicate_contents
        )

    @property
    def as_expected(self) -> bool:
        return (self.projects, self.datasets, self.models, self.model_status) == (1, 1, 1, "Completed") and (
            self.images_in_dataset,
            self.duplicate_contents,
            self.images_saved,
            self.checksums_ok,
        ) == (IMAGES, 0, len(SAMPLES), len(SAMPLES))


@dataclass
class BatchAudit:
    runs: list[RunAudit]
    trainings_started: int
    submits_accepted: int  # generation submits Bria accepted (each one is paid)
    sent: int  # requests that reached the emulator
    answered: int  # ... that got a real answer (not an injected 429/5xx, not a dropped connection)
    faults: Counter = field(default_factory=Counter)


def _get(emulator: EmulatorServer, token: str, path: str):
    response = httpx.get(f"{emulator.url}/v1/tailored-gen{path}", headers={"api_token": token})
    response.raise_for_status()
    return response.json()


def _served(emulator: EmulatorServer, token: str, request_id: str) -> bytes:
    state = httpx.get(f"{emulator.url}/v2/status/{request_id}", headers={"api_token": token}).json()
    return httpx.get(state["result"]["image_url"]).content


def audit_run(
    emulator: EmulatorServer, token: str, stats: dict, project: str, images: list[Path]
) -> RunAudit:
    projects = [p for p in _get(emulator, token, "/projects") if p["project_name"] == project]
    datasets = [d for p in projects for d in _get(emulator, token, f"/projects/{p['id']}/datasets")]
    models = [m for p in projects for m in _get(emulator, token, f"/projects/{p['id']}/models")]
    per_dataset = stats["datasets"][str(datasets[0]["id"])] if datasets else {}
    ok = 0
    for path in images:
        meta = json.loads(path.with_suffix(".json").read_text())
        data = path.read_bytes()
        Image.open(path).verify()
        ok += hashlib.sha256(data).hexdigest() == meta["sha256"] and data == _served(
            emulator, token, meta["request_id"]
        )
    return RunAudit(
        project=project,
        projects=len(projects),
        datasets=len(datasets),
        models=len(models),
        model_status=models[0]["status"] if models else "-",
        images_in_dataset=per_dataset.get("images", 0),
        duplicate_contents=per_dataset.get("duplicate_contents", 0),
        images_saved=len(images),
        checksums_ok=ok,
    )


def _answered(by_status: dict) -> tuple[int, int]:
    sent = sum(by_status.values())
    return sent, sent - sum(by_status.get(code, 0) for code in FAULT_ANSWERS)


async def run_batch(
    emulator: EmulatorServer, token: str, images: Path, out: Path, seed: int, size: int
) -> BatchAudit:
    """``size`` lifecycles at once under ``mixed_faults(seed)`` on a freshly reset emulator."""
    emulator.reset()
    emulator.set_faults(mixed_faults(seed))
    names = [f"Brand {seed}-{i}" for i in range(size)]
    results = await asyncio.gather(
        *(
            tailored_lifecycle(*lifecycle_params(images, name), samples=SAMPLES, out_dir=out / name)
            for name in names
        )
    )
    emulator.set_faults({})  # the audit's own reads are not faulted
    stats = emulator.stats()
    answers = stats["operations"].get("image-generate-tailored", {}).get("by_status", {})
    counts = [_answered(op["by_status"]) for op in stats["operations"].values()]
    return BatchAudit(
        runs=[audit_run(emulator, token, stats, n, r.images) for n, r in zip(names, results, strict=True)],
        trainings_started=stats["trainings_started"],
        submits_accepted=sum(n for code, n in answers.items() if code.startswith("2")),
        sent=sum(s for s, _ in counts),
        answered=sum(a for _, a in counts),
        faults=Counter(stats["faults_fired"]),
    )
