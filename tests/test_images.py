"""Local image checks: every bad file is refused before any request, naming the file."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from bria_api.errors import BriaValidationError
from bria_api.images import check_resolution, inspect_image, to_api_image
from tests.imagegen import image_bytes


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image: a decompression bomb in a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt,expected", [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_supported_formats_by_content(fmt, expected):
    info = inspect_image(image_bytes(300, 300, fmt), name="a.bin")
    assert (info.format, info.width, info.height) == (expected, 300, 300)


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"not an image at all", "not a decodable image"),
        (image_bytes(300, 300, "PNG")[:200], "not a decodable image"),  # truncated
        (image_bytes(300, 300, "GIF"), "not supported"),
        (image_bytes(300, 300, "BMP"), "not supported"),
        (image_bytes(300, 300, "TIFF"), "not supported"),
        (b"<html><body>hi</body></html>", "not a decodable image"),
        (_png_header_only(30000, 30000), "bomb"),
        (_png_header_only(10000, 10000), "bomb"),  # 100 Mpx: under Pillow's own limit, over ours
    ],
)
def test_bad_files_are_named(data, reason):
    with pytest.raises(BriaValidationError, match=reason) as info:
        inspect_image(data, name="brand/hero.png")
    assert info.value.field == "brand/hero.png" and "brand/hero.png" in str(info.value)


def test_size_limit():
    with pytest.raises(BriaValidationError, match="over the"):
        inspect_image(image_bytes(300, 300), name="x.png", max_bytes=100)


def test_resolution_rules_follow_increase_resolution():
    small = inspect_image(image_bytes(300, 300), name="s.png")
    check_resolution(small, increase_resolution=True)
    with pytest.raises(BriaValidationError, match="1024"):
        check_resolution(small, increase_resolution=False)
    with pytest.raises(BriaValidationError, match="256"):
        check_resolution(inspect_image(image_bytes(255, 400), name="t.png"), increase_resolution=True)


def test_alpha_is_reported():
    assert inspect_image(image_bytes(300, 300, "PNG", mode="RGBA"), name="a.png").has_alpha


def test_api_image_inputs(tmp_path):
    path = tmp_path / "ref.jpg"
    path.write_bytes(image_bytes(400, 400, "PNG"))  # a PNG named .jpg is classified by content
    assert base64.b64decode(to_api_image(path)) == path.read_bytes()
    assert to_api_image("https://cdn.example.com/a.png") == "https://cdn.example.com/a.png"
    with pytest.raises(BriaValidationError, match="no such image"):
        to_api_image(tmp_path / "missing.png")
    link = tmp_path / "dangling.png"
    link.symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(BriaValidationError, match="symlink"):
        to_api_image(link)
