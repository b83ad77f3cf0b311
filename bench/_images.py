"""Generated test images: distinct photo-like JPEGs (no binary files in the repository)."""

from __future__ import annotations

import io
from pathlib import Path


def jpeg(width: int, height: int, seed: int, *, noise: float = 12.0, quality: int = 85) -> bytes:
    """A distinct photo-like JPEG: seeded wave pattern plus sensor-like noise (1024 px: ~250 KB)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.002, 0.02, 2).tolist() + [rng.uniform(0, 6.28)]
        channels.append(127 + 100 * np.sin(x * fx + y * fy + phase))
    pixels = np.stack(channels, -1) + rng.normal(0, noise, (height, width, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def write_dataset(folder: Path, n: int, *, side: int = 1024) -> Path:
    """``n`` distinct ``side`` px JPEGs (content differs, so lint finds no near duplicates)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"shot-{i:03d}.jpg").write_bytes(jpeg(side, side, seed=1000 + i))
    return folder


def write_big_jpegs(folder: Path, n: int, *, megabytes: float = 4.0) -> Path:
    """``n`` distinct JPEGs of ~``megabytes`` each: one noisy base image, a different COM segment per file
    (distinct sha256, still a valid JPEG), so 200 of them take seconds to write, not minutes."""
    folder.mkdir(parents=True, exist_ok=True)
    width = int(2500 * (megabytes / 4.0) ** 0.5)
    base = jpeg(width, width * 3 // 4, seed=7, noise=40.0, quality=95)
    for i in range(n):
        comment = f"bench image {i:05d}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        (folder / f"big-{i:03d}.jpg").write_bytes(base[:2] + segment + base[2:])
    return folder
