"""``client.models``: tailored models, training (start/stop) and expert-mode checkpoints."""

from __future__ import annotations

from bria_api.models.enums import TrainingMode
from bria_api.models.tailored_models import (
    Checkpoint,
    CheckpointList,
    CreateModelRequest,
    ModelDownload,
    TailoredModel,
    TrainingParameters,
    UpdateModelRequest,
)
from bria_api.resources._base import Resource, build


class Models(Resource):
    async def create(
        self,
        name: str,
        dataset_id: int,
        *,
        training_mode: TrainingMode | str = TrainingMode.FULLY_AUTOMATED,
        description: str | None = None,
    ) -> TailoredModel:
        return await self._call("create-model", TailoredModel, body=build(CreateModelRequest, locals()))

    async def list(self, *, include_training_parameters: bool | None = None) -> list[TailoredModel]:
        params = {"include_training_parameters": include_training_parameters}
        return await self._call("get-models", list[TailoredModel], params=params)

    async def list_by_project(
        self, project_id: int, *, include_training_parameters: bool | None = None
    ) -> list[TailoredModel]:
        params = {"include_training_parameters": include_training_parameters}
        return await self._call(
            "get-models-by-project", list[TailoredModel], path={"project_id": project_id}, params=params
        )

    async def get(self, model_id: int) -> TailoredModel:
        """The model, with its training ``status`` (the only way to follow a training: there is no webhook)."""
        return await self._call("get-model", TailoredModel, path={"model_id": model_id})

    async def update(
        self, model_id: int, *, name: str | None = None, description: str | None = None
    ) -> TailoredModel:
        body = build(UpdateModelRequest, locals(), exclude=("model_id",))
        return await self._call("update-model", TailoredModel, path={"model_id": model_id}, body=body)

    async def delete(self, model_id: int) -> None:
        await self._call("delete-model", path={"model_id": model_id})

    async def start_training(
        self, model_id: int, parameters: TrainingParameters | None = None
    ) -> TailoredModel:
        """Start training (spends credits; never resent blindly). A 409 means it already started: read the
        model to find out. ``parameters`` only for expert models."""
        body = (parameters or TrainingParameters()).to_body()
        return await self._call("start-training", TailoredModel, path={"model_id": model_id}, body=body)

    async def stop_training(self, model_id: int) -> None:
        """Stop a training for good (Stopping → Stopped; it cannot be resumed)."""
        await self._call("stop-training", path={"model_id": model_id})

    async def list_checkpoints(self, model_id: int) -> CheckpointList:
        return await self._call("list-checkpoints", CheckpointList, path={"model_id": model_id})

    async def get_checkpoint(self, model_id: int, checkpoint_step: int) -> Checkpoint:
        path = {"model_id": model_id, "checkpoint_step": checkpoint_step}
        return await self._call("get-checkpoint", Checkpoint, path=path)

    async def delete_checkpoint(self, model_id: int, checkpoint_step: int) -> None:
        await self._call("delete-checkpoint", path={"model_id": model_id, "checkpoint_step": checkpoint_step})

    async def download(self, model_id: int) -> ModelDownload:
        return await self._call("download-tailored-model", ModelDownload, path={"model_id": model_id})
