"""``client.datasets``: datasets, their visual schema, structured-prompt refinement and downloads."""

from __future__ import annotations

from collections.abc import Sequence

from bria_api.errors import BriaValidationError
from bria_api.images import ImageSource, to_api_image
from bria_api.models.datasets import (
    CloneDatasetRequest,
    CreateDatasetRequest,
    Dataset,
    DatasetDownload,
    RefineStructuredPromptRequest,
    StructuredPromptText,
    UpdateDatasetRequest,
    VisualSchema,
    VisualSchemaRequest,
)
from bria_api.models.enums import DatasetStatus, UploadType
from bria_api.resources._base import Resource, build


class Datasets(Resource):
    async def create(
        self, project_id: int, name: str, *, upload_type: UploadType | str = UploadType.BASIC
    ) -> Dataset:
        return await self._call("create-dataset", Dataset, body=build(CreateDatasetRequest, locals()))

    async def list(self) -> list[Dataset]:
        return await self._call("get-datasets", list[Dataset])

    async def list_by_project(
        self, project_id: int, *, include_models: bool | None = None, include_models_ids: bool | None = None
    ) -> list[Dataset]:
        params = {"include_models": include_models, "include_models_ids": include_models_ids}
        return await self._call(
            "get-datasets-by-project", list[Dataset], path={"project_id": project_id}, params=params
        )

    async def get(self, dataset_id: int, *, max_images: int | None = None) -> Dataset:
        if max_images is not None and not 1 <= max_images <= 200:
            raise BriaValidationError("max_images must be between 1 and 200", field="max_images")
        return await self._call(
            "get-dataset-by-id", Dataset, path={"dataset_id": dataset_id}, params={"max_images": max_images}
        )

    async def update(
        self,
        dataset_id: int,
        *,
        name: str | None = None,
        visual_schema: str | None = None,
        status: DatasetStatus | str | None = None,
    ) -> Dataset:
        body = build(UpdateDatasetRequest, locals(), exclude=("dataset_id",))
        return await self._call("update-dataset", Dataset, path={"dataset_id": dataset_id}, body=body)

    async def complete(self, dataset_id: int) -> Dataset:
        """Mark the dataset completed (needs a visual schema and at least 5 images)."""
        return await self.update(dataset_id, status=DatasetStatus.COMPLETED)

    async def delete(self, dataset_id: int) -> None:
        await self._call("delete-dataset", path={"dataset_id": dataset_id})

    async def clone(
        self, dataset_id: int, *, name: str | None = None, description: str | None = None
    ) -> Dataset:
        body = build(CloneDatasetRequest, locals(), exclude=("dataset_id",))
        return await self._call("clone-dataset", Dataset, path={"dataset_id": dataset_id}, body=body)

    async def download(self, dataset_id: int) -> DatasetDownload:
        return await self._call("download-dataset", DatasetDownload, path={"dataset_id": dataset_id})

    async def generate_visual_schema(
        self, images: Sequence[ImageSource], *, content_moderation: bool | None = None
    ) -> VisualSchema:
        """Derive a visual schema from 5-10 sample images (paths and bytes are checked, then sent as base64)."""
        encoded = [to_api_image(img, field=f"images[{i}]") for i, img in enumerate(images)]
        body = build(VisualSchemaRequest, {"images": encoded, "content_moderation": content_moderation})
        return await self._call("generate-visual-schema", VisualSchema, body=body)

    async def refine_structured_prompt(
        self,
        dataset_id: int,
        structured_prompt: str,
        instruction: str,
        *,
        context_images: Sequence[ImageSource] | None = None,
    ) -> StructuredPromptText:
        fields = {
            "dataset_id": dataset_id,
            "structured_prompt": structured_prompt,
            "instruction": instruction,
            "context_images": [
                to_api_image(img, field=f"context_images[{i}]") for i, img in enumerate(context_images)
            ]
            if context_images
            else None,
        }
        body = build(RefineStructuredPromptRequest, fields)
        return await self._call("refine-json", StructuredPromptText, body=body)
