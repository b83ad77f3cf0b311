"""THE place that knows the inference.sh app ``bria/generate-lite``: its reference and its field names.

UNCONFIRMED FIELD NAMES — EDIT HERE (or override them without editing, below). inference.sh's page for the
app describes its inputs (text instruction, reference images, number of images, sync, aspect ratio, guidance
scale 3-5, steps 1-50, seed 0-2147483647, output format png|jpeg) but not their JSON names, and its output
schema not at all (`belt app get bria/generate-lite` prints them; ../shared/bria-api.md §12.3). The names below
are guesses by analogy with Bria's own API. Nothing else in bria-flows spells them: if the app answers 422
"input.<name>: …" or completes without images, correct the dicts here, or set (no code change):

    INFERENCE_APP='bria/generate-lite@<version>'            # pin a version
    INFERENCE_INPUT_FIELDS='{"steps": "num_inference_steps"}'  # our name -> the app's input name
    INFERENCE_OUTPUT_FIELDS='{"images": "image"}'              # our name -> the app's output name
"""

from __future__ import annotations

from typing import Any

APP_REF = "bria/generate-lite"

# our parameter (``bria_api.lite.LiteParams``) -> the app's input field. The app's "sync" input is left to its
# default: the SDK follows the task's stream either way.
INPUT_FIELDS: dict[str, str] = {
    "prompt": "prompt",
    "reference_images": "images",
    "num_images": "num_images",
    "aspect_ratio": "aspect_ratio",
    "guidance_scale": "guidance_scale",
    "steps": "steps_num",
    "seed": "seed",
    "output_format": "output_format",
}

# what we read back -> the app's output field (images: a list of File objects {uri, …} or of URLs)
OUTPUT_FIELDS: dict[str, str] = {
    "images": "images",
    "seed": "seed",
    "structured_prompt": "structured_prompt",
}


def app_input(values: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Our parameters as the app's input: renamed, unset ones (None, empty lists) left to the app's defaults."""
    names = {**INPUT_FIELDS, **(overrides or {})}
    unknown = set(values) - set(names)
    if unknown:
        raise KeyError(f"no app field mapped for {sorted(unknown)}")
    return {names[k]: v for k, v in values.items() if v is not None and v != []}


def read_output(output: Any, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """``{"images": [url, …], "seed": …, "structured_prompt": …}`` from the app's output (missing -> None)."""
    names = {**OUTPUT_FIELDS, **(overrides or {})}
    output = output if isinstance(output, dict) else {}
    raw = output.get(names["images"])
    files = raw if isinstance(raw, list) else ([raw] if raw else [])
    urls = [f.get("uri") or f.get("url") if isinstance(f, dict) else f for f in files]
    return {
        "images": [u for u in urls if isinstance(u, str) and u],
        "seed": output.get(names["seed"]),
        "structured_prompt": output.get(names["structured_prompt"]),
    }
