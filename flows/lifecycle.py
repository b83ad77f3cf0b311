"""``tailored_lifecycle``: prepare the dataset → train the model → generate sample images.

Two ways to wait for the 4-6 h training:
- ``poll`` (CLI, tests, short runs): the ``train_model`` subflow polls; one process is held throughout.
- ``suspend`` (deployments): after ``start_training`` the run suspends and its process exits; nothing is
  held. The watcher sees the training end and emits an event; an automation resumes this run, which starts
  again from the top: persisted results come back cached, and every step reconciles with Bria anyway, so
  nothing is created, uploaded or trained twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import acreate_progress_artifact
from prefect.flow_runs import suspend_flow_run
from prefect.states import Cancelled, State
from pydantic import BaseModel, Field

from bria_api.models import TailoredModel, TrainingMode
from bria_api.polling import raise_for_terminal
from flows.approval import DatasetFacts, approve_training
from flows.dataset import prepare_dataset
from flows.gallery import golden_gallery
from flows.generation import generate_images
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams
from flows.training import register_owner, train_model
from tasks.credentials import BriaCredentials
from tasks.lineage import record_model
from tasks.locks import resource_lock
from tasks.registry import drop_record, read_record, save_record
from tasks.training import ensure_model, read_model, start_training

DEFAULT_SAMPLES = [
    PromptSpec(prompt="The product on a clean studio background, soft light", seed=1, aspect_ratio="1:1"),
    PromptSpec(prompt="The product in a lifestyle scene, morning light", seed=2, aspect_ratio="16:9"),
]
_MAX_SUSPENSIONS = (
    4  # a resume before the training ended (e.g. by hand) suspends again, a bounded number of times
)


class LifecycleResult(BaseModel):
    project_id: int
    dataset_id: int
    model_id: int
    images: list[Path]
    promotion: str | None = None  # the golden gallery's decision, when one was asked for


async def _train_hold_free(
    project_id: int, dataset_id: int, training: TrainingParams, credentials: BriaCredentials | None
) -> TailoredModel:
    """Start (or re-attach to) the training, then suspend until the watcher's event resumes this run."""
    run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    async with resource_lock("model", project_id, dataset_id, training.model_name):  # see tasks/locks.py
        model = await ensure_model(
            project_id, dataset_id, training.model_name, TrainingMode(training.training_mode), credentials
        )
        model = await start_training(model.id, training.expert, credentials)
    for attempt in range(_MAX_SUSPENSIONS):
        model = await read_model(model.id, credentials)
        if raise_for_terminal(model):
            await drop_record(model.id)
            await record_model(model)  # lineage: dataset -> model (-> checkpoint)
            return model
        if attempt == 0 and await read_record(model.id) is None:
            await register_owner(model, run_id, training.expected_hours * 3600)
            record = await read_record(model.id)
            if record is not None:
                record.progress_artifact_id = str(
                    await acreate_progress_artifact(
                        0.0, key=f"training-{model.id}", description="waiting (suspended)"
                    )
                )
                await save_record(record)
        get_run_logger().info(
            "model %s training: suspending this run until the watcher reports its end", model.id
        )
        # The key makes a resumed run (which starts from the top) pass this point instead of suspending again.
        await suspend_flow_run(
            timeout=int(training.max_wait_hours * 3600), key=f"bria-train-{model.id}-{attempt}"
        )
    raise RuntimeError(f"model {model.id} still {model.status} after {_MAX_SUSPENSIONS} resumes")


@flow(name="tailored-lifecycle", flow_run_name="lifecycle-{project.project_name}", persist_result=True)
async def tailored_lifecycle(
    project: ProjectParams,
    dataset: DatasetParams,
    training: TrainingParams,
    samples: list[PromptSpec] = DEFAULT_SAMPLES,  # noqa: B006 - pydantic parameters, never mutated
    out_dir: Path = Path("bria-output"),
    wait_mode: Literal["poll", "suspend"] = "poll",
    credentials: BriaCredentials | None = None,
    require_approval: bool = False,
    review_captions: bool = False,
    approval_timeout_hours: Annotated[float, Field(gt=0, le=168)] = 24.0,
    golden_prompts_file: Path | None = None,
) -> LifecycleResult | State:
    """The whole tailored-generation lifecycle; every step re-attaches on a re-run, so nothing is paid twice.

    Args:
        project: The Bria project (found by name, created when missing).
        dataset: The local images and the dataset they become.
        training: The model, its training mode and how to wait for it.
        samples: Prompts rendered with the trained model at the end.
        out_dir: Where images and their JSON sidecars are written.
        wait_mode: poll (hold a process while training) or suspend (release it; needs a deployment, the watcher
            and the resume automation created by `bria-flows deploy`).
        credentials: A BriaCredentials block; defaults to BRIA_API_TOKEN / BRIA_BASE_URL.
        require_approval: Pause before the training starts until someone approves it in the UI (the cost estimate
            and the lint summary are shown); a rejection ends the run Cancelled and trains nothing.
        review_captions: Pause after captioning for a person to edit the captions, then complete the dataset.
        approval_timeout_hours: How long the approval and the caption review may wait (the run fails after it).
        golden_prompts_file: When set, the trained model's golden-prompt gallery is shown next to the promoted
            model's and this run waits (holding its process) for the decision that promotes it or not.
    """
    timeout_hours = approval_timeout_hours
    prepared = await prepare_dataset(
        project, dataset, credentials, review_captions=review_captions, review_timeout_hours=timeout_hours
    )
    if prepared.version:  # a new dataset version trains its own model (flows/versions.py)
        training = training.model_copy(update={"model_name": f"{training.model_name} #{prepared.version}"})
    facts = DatasetFacts(
        dataset_id=prepared.dataset_id,
        dataset_name=prepared.dataset_name or dataset.name,
        images=prepared.images_in_dataset,
        lint_summary=prepared.lint_summary,
    )
    decision = await approve_training(
        prepared.project_id,
        facts,
        training.model_name,
        len(samples),
        require_approval=require_approval,
        timeout_seconds=int(timeout_hours * 3600),
        credentials=credentials,
    )
    if not decision.approve:
        return Cancelled(message=f"training rejected: {decision.reason or 'no reason given'}")
    if wait_mode == "suspend":
        model = await _train_hold_free(prepared.project_id, prepared.dataset_id, training, credentials)
    else:
        model = await train_model(prepared.project_id, prepared.dataset_id, training, credentials)
    files = await generate_images(model.id, samples, out_dir=out_dir, credentials=credentials)
    gallery = None
    if golden_prompts_file is not None:  # a new model never replaces the promoted one unseen (gallery.py)
        gallery = await golden_gallery(
            model.id,
            golden_prompts_file,
            out_dir=Path(out_dir) / "gallery",
            approval_timeout_hours=timeout_hours,
            credentials=credentials,
        )
    get_run_logger().info("lifecycle done: model %s, %d sample images in %s", model.id, len(files), out_dir)
    return LifecycleResult(
        project_id=prepared.project_id,
        dataset_id=prepared.dataset_id,
        model_id=model.id,
        images=[f.path for f in files],
        promotion=gallery.decision if gallery else None,
    )
