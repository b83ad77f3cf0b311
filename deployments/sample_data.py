"""A small synthetic brand dataset for the demo: consistent 1024 px product shots, made with Pillow."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

PALETTE = [(232, 93, 4), (255, 186, 8), (63, 136, 197), (20, 33, 61)]


def _mug(seed: int, size: int = 1024) -> Image.Image:
    rng = random.Random(seed)
    bg = tuple(min(255, c + 150) for c in PALETTE[seed % len(PALETTE)])
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    for y in range(size // 2, size, 8):  # a table top with a soft gradient
        shade = 120 + (y - size // 2) * 80 // (size // 2)
        draw.rectangle([0, y, size, y + 8], fill=(shade, shade - 30, shade - 60))
    cx, cy = size // 2 + rng.randint(-160, 160), size // 2 + rng.randint(-60, 60)
    w, h = rng.randint(220, 300), rng.randint(260, 340)
    body = PALETTE[(seed + 1) % len(PALETTE)]
    draw.ellipse([cx - w // 2, cy + h // 2 - 30, cx + w // 2, cy + h // 2 + 30], fill=(60, 40, 30))  # shadow
    draw.rectangle([cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2], fill=body)
    draw.ellipse(
        [cx - w // 2, cy - h // 2 - 25, cx + w // 2, cy - h // 2 + 25], fill=tuple(c // 2 for c in body)
    )
    draw.arc([cx + w // 2 - 40, cy - h // 4, cx + w // 2 + 90, cy + h // 4], 270, 90, fill=body, width=28)
    draw.text((cx - 40, cy), "BRIA", fill=(255, 255, 255))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def synthesize_dataset(folder: Path, count: int = 6) -> list[Path]:
    """Write ``count`` consistent product images (JPEG, 1024 px) unless they already exist."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"mug-{i + 1:02d}.jpg"
        if not path.exists():
            _mug(i).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths
