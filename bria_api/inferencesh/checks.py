"""Checks made before anything is sent to inference.sh, each naming the field at fault."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bria_api.errors import BriaValidationError
from bria_api.images import DEFAULT_MAX_BYTES, inspect_image, is_url, read_source
from bria_api.lite import LiteParams

_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def _sdk_would_upload(value: str) -> bool:
    """The SDK uploads any input string that names an existing file or looks like base64 (≥16 chars)."""
    return (
        os.path.exists(value)
        or value.startswith("data:")
        or (len(value) >= 16 and len(value) % 4 == 0 and bool(_BASE64.match(value)))
    )


def check_for_inferencesh(params: LiteParams) -> LiteParams:
    """Reference images readable (paths made absolute: the SDK uploads them) or http(s) URLs; no other input
    the SDK would mistake for a file. Returns the parameters as they will be sent."""
    if _sdk_would_upload(params.prompt):
        raise BriaValidationError(
            "prompt: the inferencesh SDK would upload this text as a file (it names a file or looks like "
            "base64); reword it, e.g. add a space",
            field="prompt",
        )
    references = []
    for i, ref in enumerate(params.reference_images):
        field = f"reference_images[{i}]"
        if is_url(ref):
            references.append(ref)
            continue
        if ref.startswith(("http:", "https:", "data:")) or "://" in ref:
            raise BriaValidationError(
                f"{field}: give an http(s) URL or a local file path, not {ref[:60]!r}", field=field
            )
        path = Path(ref).expanduser()
        if not path.is_file():
            raise BriaValidationError(f"{field}: {ref} is not a file", field=field)
        data, name = read_source(path, field=field)
        inspect_image(data, name=name, max_bytes=DEFAULT_MAX_BYTES)  # decodable JPEG/PNG/WEBP, sane size
        references.append(str(path.resolve()))
    return params.model_copy(update={"reference_images": tuple(references)})
