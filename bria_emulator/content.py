"""Deterministic fake FIBO structured prompts, visual schemas and captions (JSON strings)."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

_SUBJECTS = [
    "a ceramic mug",
    "a fluffy owl",
    "a red bicycle",
    "a glass perfume bottle",
    "a smiling robot",
    "a leather backpack",
    "a mountain cabin",
    "a bowl of ramen",
    "a vintage camera",
    "a paper lantern",
]
_SETTINGS = [
    "a clean white studio backdrop",
    "a misty pine forest at dawn",
    "a sunlit kitchen counter",
    "a neon-lit city street at night",
    "a pastel gradient background",
    "a sandy beach at golden hour",
]
_LIGHT = [
    "soft, diffused studio lighting",
    "warm golden-hour sunlight",
    "cool moonlight",
    "hard flash",
    "bright natural daylight",
]
_MOODS = ["calm and elegant", "joyful and vibrant", "mysterious and moody", "playful and whimsical"]
_MEDIUMS = ["photograph", "digital illustration", "3D render", "watercolor illustration"]
_STYLES = ["realistic, detailed", "flat vector, minimal", "cinematic, high contrast", "soft, dreamy"]
_ANGLES = ["eye-level", "slightly overhead", "low angle", "top-down"]


def _rng(*parts: Any) -> random.Random:
    return random.Random(hashlib.sha256("|".join(map(str, parts)).encode()).digest())


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def structured_prompt_dict(prompt: str | None, seed: int, context: str = "") -> dict[str, Any]:
    rng = _rng(prompt, seed, context)
    subject = (prompt or rng.choice(_SUBJECTS)).strip()
    n_objects = rng.randint(1, 3)
    objects = [
        {
            "description": subject if i == 0 else rng.choice(_SUBJECTS),
            "location": rng.choice(["center", "left", "right", "bottom-center", "top-left"]),
            "relative_size": rng.choice(["large within frame", "medium", "small"]),
            "shape_and_color": rng.choice(
                ["rounded, warm tones", "angular, cool blues", "organic, earthy greens"]
            ),
            "texture": rng.choice(["smooth", "matte", "glossy", "rough"]),
            "orientation": rng.choice(["upright", "facing forward", "three-quarter view"]),
        }
        for i in range(n_objects)
    ]
    return {
        "short_description": f"{subject}, {rng.choice(_STYLES)}",
        "objects": objects,
        "background_setting": rng.choice(_SETTINGS),
        "lighting": {
            "conditions": rng.choice(_LIGHT),
            "direction": rng.choice(["top-left", "front", "back-lit"]),
            "shadows": rng.choice(["soft and subtle", "long and dramatic", "minimal"]),
        },
        "aesthetics": {
            "composition": rng.choice(["centered", "rule of thirds", "symmetrical"]),
            "color_scheme": rng.choice(["warm complementary", "monochrome blue", "pastel"]),
            "mood_atmosphere": rng.choice(_MOODS),
            "preference_score": "very high",
            "aesthetic_score": "very high",
        },
        "photographic_characteristics": {
            "depth_of_field": rng.choice(["shallow", "deep"]),
            "focus": "sharp focus on subject",
            "camera_angle": rng.choice(_ANGLES),
            "lens_focal_length": rng.choice(["35mm", "50mm", "85mm", "macro"]),
        },
        "style_medium": rng.choice(_MEDIUMS),
        "text_render": [],
        "context": context or "A product or brand visual generated for marketing material.",
        "artistic_style": rng.choice(_STYLES),
    }


def parse_structured_prompt(value: str | dict[str, Any]) -> dict[str, Any] | None:
    """Accept a JSON string or a dict (bria-mcp sends a dict); None when not a JSON object."""
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def refine(structured: dict[str, Any], instruction: str) -> dict[str, Any]:
    """Apply a text instruction: visible, deterministic change (description + lighting keywords)."""
    out = json.loads(json.dumps(structured))
    short = str(out.get("short_description", "")).strip()
    out["short_description"] = f"{short} ({instruction.strip()})" if short else instruction.strip()
    lowered = instruction.lower()
    if any(word in lowered for word in ("light", "sun", "bright", "dark", "night")):
        lighting = out.get("lighting") if isinstance(out.get("lighting"), dict) else {}
        lighting["conditions"] = instruction.strip()
        out["lighting"] = lighting
    return out


def merge_diff(original: dict[str, Any], adjusted: dict[str, Any]) -> dict[str, Any]:
    """generate_from_diff: the user's adjusted keys win, untouched keys are kept."""
    merged = json.loads(json.dumps(original))
    merged.update(adjusted)
    return merged


def visual_schema(digest: str) -> str:
    """A dataset-level backbone: what all training images share."""
    schema = structured_prompt_dict(None, 0, context=f"visual schema {digest}")
    schema["short_description"] = "A consistent visual identity shared by all images in the dataset."
    schema["objects"] = [
        {
            "description": "the main subject of the IP, kept consistent across images",
            "location": "center",
            "relative_size": "large within frame",
        }
    ]
    return dumps(schema)


def caption(schema: str, image_digest: str, image_name: str) -> str:
    """An image caption that follows the dataset's visual schema."""
    base = parse_structured_prompt(schema) or {}
    fresh = structured_prompt_dict(None, 0, context=f"caption {image_digest} {image_name}")
    for key in ("style_medium", "artistic_style", "aesthetics"):
        if key in base:
            fresh[key] = base[key]
    return dumps(fresh)
