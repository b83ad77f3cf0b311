"""Image decoding/validation of inputs and deterministic rendering of generated outputs."""

from __future__ import annotations

import hashlib
import io
import json
import random
import warnings
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

# ~1 MP sizes per aspect ratio (multiples of 16, as diffusion outputs are).
ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (896, 1152),
    "4:3": (1152, 896),
    "4:5": (896, 1120),
    "5:4": (1120, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
}
ASPECT_RATIOS = list(ASPECT_SIZES)
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_INPUT_PIXELS = 40_000_000  # refuse before decoding: decompression-bomb guard


class ImageRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class DecodedImage:
    format: str
    width: int
    height: int
    media_type: str
    sha256: str


def inspect_image(data: bytes, *, full_decode: bool = True) -> DecodedImage:
    """Validate an uploaded image: only jpeg/png/webp, bounded size, actually decodable (else 415)."""
    if not data:
        raise ImageRejected(415, "Empty image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                if fmt not in ACCEPTED_FORMATS:
                    raise ImageRejected(
                        415, f"Unsupported image format: {fmt or 'unknown'} (use jpg, jpeg, png or webp)"
                    )
                if width * height > MAX_INPUT_PIXELS:
                    raise ImageRejected(415, f"Image too large to process: {width}x{height}")
                if full_decode:
                    img.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(415, f"Image rejected: {exc}") from exc
    except Exception as exc:  # Pillow raises many types for garbage input
        raise ImageRejected(415, "Could not decode image (unsupported or corrupt file)") from exc
    return DecodedImage(fmt, width, height, ACCEPTED_FORMATS[fmt], hashlib.sha256(data).hexdigest())


def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    base = rng.randrange(360)
    colors = []
    for i in range(5):
        hue = (base + i * rng.choice((30, 45, 72, 137))) % 360
        img = Image.new("HSV", (1, 1), (int(hue / 360 * 255), rng.randrange(90, 230), rng.randrange(80, 250)))
        colors.append(img.convert("RGB").getpixel((0, 0)))
    return colors


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines[:4]


def render_image(key: str, caption: str, width: int, height: int, fmt: str = "png") -> bytes:
    """Deterministic picture: palette and shapes from hash(key), the caption drawn on it."""
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    colors = _palette(rng)
    img = Image.new("RGB", (width, height), colors[0])
    draw = ImageDraw.Draw(img)
    band = height // 6
    for i in range(6):  # soft horizontal bands give a "sky/ground" feel
        shade = tuple(min(255, c + i * 8) for c in colors[0])
        draw.rectangle((0, i * band, width, (i + 1) * band), fill=shade)
    for _ in range(rng.randrange(4, 9)):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 10, width // 2), rng.randrange(height // 10, height // 2)
        shape = (x - w // 2, y - h // 2, x + w // 2, y + h // 2)
        color = rng.choice(colors[1:])
        if rng.random() < 0.5:
            draw.ellipse(shape, fill=color)
        else:
            draw.rounded_rectangle(shape, radius=min(w, h) // 6, fill=color)
    font = ImageFont.load_default(size=max(16, width // 28))
    text_y = height - band - 10
    draw.rectangle((0, text_y - 10, width, height), fill=(0, 0, 0))
    for n, line in enumerate(_wrap(caption or "(no prompt)", 40)):
        draw.text((24, text_y + n * (width // 24)), line, font=font, fill=(255, 255, 255))
    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=85)
    else:
        img.save(out, "PNG", compress_level=1)  # speed over size: keep rendering well under 50 ms
    return out.getvalue()


def render_thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        img.thumbnail((256, 256))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=80)
    return out.getvalue()


def fake_mp4(key: str) -> bytes:
    """A tiny MP4-shaped file (ftyp + mdat boxes): enough for type sniffing and download tests."""
    payload = hashlib.sha256(key.encode()).digest() * 64
    ftyp = b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2avc1mp41"
    return (
        (len(ftyp) + 4).to_bytes(4, "big") + ftyp + (len(payload) + 8).to_bytes(4, "big") + b"mdat" + payload
    )


def fake_safetensors(key: str) -> bytes:
    """Header-valid .safetensors with one small tensor, for download-tailored-model."""
    tensor = hashlib.sha256(key.encode()).digest() * 4  # 128 bytes = 32 float32
    header = json.dumps(
        {
            "lora.weight": {"dtype": "F32", "shape": [32], "data_offsets": [0, len(tensor)]},
            "__metadata__": {"base_model": "BRIA-FIBO"},
        }
    ).encode()
    return len(header).to_bytes(8, "little") + header + tensor
