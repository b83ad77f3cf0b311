"""``client.images``: dataset images (single upload, captions) and the one-shot bulk ZIP upload."""

from __future__ import annotations

import base64
import hashlib

from bria_api.errors import BriaValidationError
from bria_api.images import ImageSource, check_resolution, inspect_image, is_url, read_source
from bria_api.models.datasets import (
    BulkUploadRequest,
    BulkUploadState,
    Dataset,
    Image,
    UpdateCaptionRequest,
    UploadImageRequest,
)
from bria_api.resources._base import Resource, build


class Images(Resource):
    async def upload(
        self,
        dataset_id: int,
        source: ImageSource,
        *,
        image_name: str | None = None,
        increase_resolution: bool | None = None,
        content_moderation: bool | None = None,
        verified_sha256: str | None = None,
    ) -> Image:
        """Upload one image (path, bytes or URL). Local images are validated first; nothing invalid is sent.

        ``verified_sha256``: the digest of content already fully decoded (by lint). The bytes must still
        hash to it (a file changed since lint is refused); then only the header is checked again.

        This POST is never resent blindly: after a lost response, list the images (``list``) and look for
        ``image_name`` before uploading again.
        """
        fields: dict[str, object] = {
            "image_name": image_name,
            "increase_resolution": increase_resolution,
            "content_moderation": content_moderation,
        }
        if is_url(source):
            fields["image_url"] = source
        else:
            data, name = read_source(source, field="file")
            if verified_sha256 is not None and hashlib.sha256(data).hexdigest() != verified_sha256:
                raise BriaValidationError(f"{name}: changed since it was checked; lint it again", field=name)
            info = inspect_image(
                data,
                name=name,
                max_bytes=self._transport.settings.max_image_bytes,
                decode=verified_sha256 is None,
            )
            check_resolution(info, increase_resolution=increase_resolution is not False)
            fields["file"] = base64.b64encode(data).decode("ascii")
        body = build(UploadImageRequest, fields)
        return await self._call("upload-image", Image, path={"dataset_id": dataset_id}, body=body)

    async def list(self, dataset_id: int) -> list[Image]:
        return await self._call("get-images", list[Image], path={"dataset_id": dataset_id})

    async def get(self, dataset_id: int, image_id: int) -> Image:
        return await self._call("get-image", Image, path={"dataset_id": dataset_id, "image_id": image_id})

    async def regenerate_captions(self, dataset_id: int) -> Dataset:
        """Start regenerating every caption; poll the dataset until ``captions_update_status`` is completed."""
        return await self._call("regenerate-all-captions", Dataset, path={"dataset_id": dataset_id})

    async def update_caption(
        self,
        dataset_id: int,
        image_id: int,
        *,
        caption: str | None = None,
        regenerate_caption: bool | None = None,
    ) -> Image:
        body = build(UpdateCaptionRequest, locals(), exclude=("dataset_id", "image_id"))
        path = {"dataset_id": dataset_id, "image_id": image_id}
        return await self._call("update-image-caption", Image, path=path, body=body)

    async def delete(self, dataset_id: int, image_id: int) -> None:
        await self._call("delete-image", path={"dataset_id": dataset_id, "image_id": image_id})

    async def bulk_upload(
        self, dataset_id: int, zip_url: str, *, content_moderation: bool | None = None
    ) -> None:
        """Submit the dataset's one and only bulk ZIP upload (advanced datasets). Never resent: after any
        doubt, read ``bulk_upload_status`` instead."""
        body = build(BulkUploadRequest, locals(), exclude=("dataset_id",))
        await self._call("bulk-upload-images", path={"dataset_id": dataset_id}, body=body)

    async def bulk_upload_status(self, dataset_id: int) -> BulkUploadState:
        return await self._call("get-bulk-upload-status", BulkUploadState, path={"dataset_id": dataset_id})
