"""Image inputs: local path, bytes or URL. Local images are checked before anything is sent.

Checks (all before any credit is spent): decodable by Pillow, JPEG/PNG/WEBP by content (not by name),
size limit, resolution rule (>=256 px, or >=1024 px when ``increase_resolution`` is false) and a
decompression-bomb guard that rejects from the header, before pixels are decoded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from bria_api.errors import BriaValidationError

SUPPORTED_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
MIN_SIDE_UPSCALED = 256
MIN_SIDE_NATIVE = 1024
MAX_PIXELS = 50_000_000  # far above any sane training image, far below a decompression bomb
DEFAULT_MAX_BYTES = 12 * 1024 * 1024

ImageSource = str | Path | bytes


@dataclass(frozen=True)
class ImageInfo:
    name: str
    format: str  # jpeg | png | webp
    width: int
    height: int
    size_bytes: int
    has_alpha: bool
    sha256: str


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def inspect_image(
    data: bytes, *, name: str, max_bytes: int = DEFAULT_MAX_BYTES, decode: bool = True
) -> ImageInfo:
    """Validate image bytes; raise ``BriaValidationError`` naming ``name`` on any problem.

    ``decode=False`` checks the header only (format, size, pixel count): for bytes already fully decoded.
    """
    if not data:
        raise BriaValidationError(f"{name}: file is empty", field=name)
    if len(data) > max_bytes:
        raise BriaValidationError(f"{name}: {len(data)} bytes is over the {max_bytes} byte limit", field=name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise BriaValidationError(
                        f"{name}: {width}x{height} exceeds {MAX_PIXELS} pixels (decompression bomb guard)",
                        field=name,
                    )
                if fmt not in SUPPORTED_FORMATS:
                    raise BriaValidationError(
                        f"{name}: format {fmt or 'unknown'} is not supported (use JPEG, PNG or WEBP)",
                        field=name,
                    )
                if decode:
                    img.load()  # full decode: catches truncated and corrupt files
                has_alpha = img.mode in ("RGBA", "LA", "PA") or (
                    img.mode == "P" and "transparency" in img.info
                )
    except BriaValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BriaValidationError(f"{name}: rejected as a decompression bomb ({exc})", field=name) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BriaValidationError(
            f"{name}: not a decodable image ({type(exc).__name__})", field=name
        ) from None
    return ImageInfo(
        name=name,
        format=SUPPORTED_FORMATS[fmt],
        width=width,
        height=height,
        size_bytes=len(data),
        has_alpha=has_alpha,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def check_resolution(info: ImageInfo, *, increase_resolution: bool = True) -> None:
    """Bria's upload rule: >=256 px per side when it may upscale, else >=1024 px."""
    minimum = MIN_SIDE_UPSCALED if increase_resolution else MIN_SIDE_NATIVE
    if min(info.width, info.height) < minimum:
        raise BriaValidationError(
            f"{info.name}: {info.width}x{info.height} is below {minimum} px per side"
            + ("" if increase_resolution else " (required when increase_resolution is false)"),
            field=info.name,
        )


def read_source(source: ImageSource, *, field: str) -> tuple[bytes, str]:
    """Bytes and a display name for a local path or raw bytes."""
    if isinstance(source, bytes):
        return source, field
    path = Path(source)
    if path.is_symlink() and not path.resolve().is_file():
        raise BriaValidationError(f"{path}: broken symlink", field=str(path))
    if not path.is_file():
        raise BriaValidationError(f"{path}: no such image file", field=str(path))
    return path.read_bytes(), str(path)


def to_api_image(
    source: ImageSource,
    *,
    field: str = "image",
    min_side: int = MIN_SIDE_UPSCALED,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """A URL passes through; a path or bytes is validated and returned as bare base64 (as Bria expects)."""
    if is_url(source):
        return str(source)
    if isinstance(source, str) and not Path(source).exists() and len(source) > 256:
        raise BriaValidationError(
            f"{field}: give a URL, a file path or bytes (not a base64 string)", field=field
        )
    data, name = read_source(source, field=field)
    info = inspect_image(data, name=name, max_bytes=max_bytes)
    if min(info.width, info.height) < min_side:
        raise BriaValidationError(
            f"{name}: {info.width}x{info.height} is below {min_side} px per side", field=name
        )
    return base64.b64encode(data).decode("ascii")
