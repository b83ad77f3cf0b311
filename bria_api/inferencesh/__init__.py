"""FIBO Lite through inference.sh's ``bria/generate-lite`` app (the ``inferencesh`` extra).

Importing this package does not import the SDK; making an ``InferenceShLite`` does. The app's field names are
unconfirmed and live in one place: ``bria_api/inferencesh/app_fields.py``.
"""

from bria_api.inferencesh.app_fields import APP_REF, INPUT_FIELDS, OUTPUT_FIELDS, app_input, read_output
from bria_api.inferencesh.checks import check_for_inferencesh
from bria_api.inferencesh.runner import (
    SDK_HINT,
    STATUS_NAMES,
    BackendUnavailableError,
    InferenceShAPIError,
    InferenceShConnectionError,
    InferenceShError,
    InferenceShLite,
    TaskFailedError,
    TaskUpdate,
    load_sdk,
)
from bria_api.inferencesh.settings import InferenceShSettings

__all__ = [
    "APP_REF",
    "INPUT_FIELDS",
    "OUTPUT_FIELDS",
    "SDK_HINT",
    "STATUS_NAMES",
    "BackendUnavailableError",
    "InferenceShAPIError",
    "InferenceShConnectionError",
    "InferenceShError",
    "InferenceShLite",
    "InferenceShSettings",
    "TaskFailedError",
    "TaskUpdate",
    "app_input",
    "check_for_inferencesh",
    "load_sdk",
    "read_output",
]
