"""Small generated image fixtures (no binary files in the repo)."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(
    width: int = 512, height: int = 512, fmt: str = "PNG", color=(200, 40, 40), mode: str = "RGB"
) -> bytes:
    img = Image.new(mode, (width, height), color if mode == "RGB" else (*color, 128))
    for x in range(0, width, 17):  # some structure so JPEG/PNG sizes are realistic and images differ by color
        for y in range(0, height, 23):
            img.putpixel((x, y), (x % 256, y % 256, (x + y) % 256) if mode == "RGB" else (x % 256, 0, 0, 255))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def distinct_images(n: int, *, size: int = 512, fmt: str = "PNG") -> list[bytes]:
    return [
        image_bytes(size, size, fmt, color=((37 * i) % 256, (91 * i) % 256, (53 * i + 7) % 256))
        for i in range(n)
    ]
