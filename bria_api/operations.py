"""Every operation of Bria's three OpenAPI files, with its prefix and how it may be retried.

The ``kind`` decides the retry rule in the transport:
READ and WRITE (GET, and idempotent PUT/DELETE) retry on any transient failure; CREATE (a POST that makes
something or spends credits) is resent only when it provably never reached the server; ONCE (bulk ZIP) is
never resent, because Bria rejects any second attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    ONCE = "once"


@dataclass(frozen=True)
class Operation:
    id: str  # the spec's operationId
    method: str
    path: str  # path template under the version prefix
    version: str  # "v1" (management) or "v2" (generation and status), per the spec's per-operation servers
    kind: Kind

    def url(self, **params: object) -> str:
        return f"/{self.version}{self.path.format(**params)}"


def _op(op_id: str, method: str, path: str, version: str = "v1", kind: Kind | None = None) -> Operation:
    if kind is None:
        kind = {"GET": Kind.READ, "PUT": Kind.WRITE, "DELETE": Kind.WRITE}.get(method, Kind.CREATE)
    return Operation(op_id, method, path, version, kind)


_TG = "/tailored-gen"
OPERATIONS: dict[str, Operation] = {
    op.id: op
    for op in (
        # projects
        _op("create-project", "POST", f"{_TG}/projects"),
        _op("get-projects", "GET", f"{_TG}/projects"),
        _op("get-project-by-id", "GET", f"{_TG}/projects/{{project_id}}"),
        _op("update-project", "PUT", f"{_TG}/projects/{{project_id}}"),
        _op("delete-project", "DELETE", f"{_TG}/projects/{{project_id}}"),
        # datasets
        _op("create-dataset", "POST", f"{_TG}/datasets"),
        _op("get-datasets", "GET", f"{_TG}/datasets"),
        _op("get-datasets-by-project", "GET", f"{_TG}/projects/{{project_id}}/datasets"),
        _op("get-dataset-by-id", "GET", f"{_TG}/datasets/{{dataset_id}}"),
        _op("update-dataset", "PUT", f"{_TG}/datasets/{{dataset_id}}"),
        _op("delete-dataset", "DELETE", f"{_TG}/datasets/{{dataset_id}}"),
        _op("clone-dataset", "POST", f"{_TG}/datasets/{{dataset_id}}/clone"),
        _op("download-dataset", "GET", "/datasets/{dataset_id}/download"),  # sic: no tailored-gen prefix
        # images
        _op("upload-image", "POST", f"{_TG}/datasets/{{dataset_id}}/images"),
        _op("get-images", "GET", f"{_TG}/datasets/{{dataset_id}}/images"),
        # PUT with no body, but it starts an asynchronous job: resending only restarts captioning.
        _op("regenerate-all-captions", "PUT", f"{_TG}/datasets/{{dataset_id}}/images"),
        _op("get-image", "GET", f"{_TG}/datasets/{{dataset_id}}/images/{{image_id}}"),
        _op("update-image-caption", "PUT", f"{_TG}/datasets/{{dataset_id}}/images/{{image_id}}"),
        _op("delete-image", "DELETE", f"{_TG}/datasets/{{dataset_id}}/images/{{image_id}}"),
        _op(
            "bulk-upload-images", "POST", f"{_TG}/datasets/{{dataset_id}}/images/bulk-upload", kind=Kind.ONCE
        ),
        _op("get-bulk-upload-status", "GET", f"{_TG}/datasets/{{dataset_id}}/images/bulk-upload/status"),
        # visual schema and prompts (pure computations, but they spend credits: never blindly resent)
        _op("generate-visual-schema", "POST", f"{_TG}/generate_visual_schema"),
        _op("refine-json", "POST", f"{_TG}/refine_structured_prompt"),
        # models and training
        _op("create-model", "POST", f"{_TG}/models"),
        _op("get-models", "GET", f"{_TG}/models"),
        _op("get-models-by-project", "GET", f"{_TG}/projects/{{project_id}}/models"),
        _op("get-model", "GET", f"{_TG}/models/{{model_id}}"),
        _op("update-model", "PUT", f"{_TG}/models/{{model_id}}"),
        _op("delete-model", "DELETE", f"{_TG}/models/{{model_id}}"),
        _op("start-training", "POST", f"{_TG}/models/{{model_id}}/start_training"),
        _op("stop-training", "POST", f"{_TG}/models/{{model_id}}/stop_training"),
        _op("list-checkpoints", "GET", f"{_TG}/models/{{model_id}}/checkpoints"),
        _op("get-checkpoint", "GET", f"{_TG}/models/{{model_id}}/checkpoints/{{checkpoint_step}}"),
        _op("delete-checkpoint", "DELETE", f"{_TG}/models/{{model_id}}/checkpoints/{{checkpoint_step}}"),
        _op("download-tailored-model", "GET", f"{_TG}/models/{{model_id}}/download"),
        # v2 tailored generation
        _op("image-generate-tailored", "POST", "/image/generate/tailored", "v2"),
        _op("structured-prompt-generate-tailored", "POST", "/structured_prompt/generate/tailored", "v2"),
        _op("generate-video-from-tailored-image", "POST", "/video/generate/tailored/image-to-video", "v2"),
        # v2 image generation (FIBO and Lite)
        _op("image-generate", "POST", "/image/generate", "v2"),
        _op("image-generate-lite", "POST", "/image/generate/lite", "v2"),
        _op("structured-prompt-generate", "POST", "/structured_prompt/generate", "v2"),
        _op("structured-prompt-generate-from-diff", "POST", "/structured_prompt/generate_from_diff", "v2"),
        _op("structured-prompt-generate-lite", "POST", "/structured_prompt/generate/lite", "v2"),
        # v2 status service
        _op("get_status", "GET", "/status/{request_id}", "v2"),
    )
}
