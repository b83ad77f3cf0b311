"""Dataset lint (reliability matrix rows 19-22): every bad input is caught before any API call, naming its file.

All fixtures are generated in ``tmp_path``; no binary file is committed.
"""

from __future__ import annotations

import io
import os
import random
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from bria_api.errors import BriaValidationError
from bria_api.images import check_resolution, inspect_image
from bria_api.lint import Finding, LintReport, LintRules, Severity, lint_folder, render_table
from bria_api.manifest import build_manifest
from bria_api.models import UploadType
from tests.imagegen import distinct_images, image_bytes

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image, with a small IDAT and IEND: a bomb in a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + _chunk(b"IEND", b"")
    )


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("payload.txt", "not an image")
    return buf.getvalue()


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def _scene(variant: int = 0, size: int = 512) -> Image.Image:
    """A structured picture (gradient, shapes): perceptual hashes are meaningful on it, unlike flat colour."""
    img = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    if variant % 2:
        img = img.rotate(90)
    draw = ImageDraw.Draw(img)
    draw.ellipse((60 + 40 * variant, 80, 300 + 20 * variant, 400), fill=(220, 60 + 50 * variant, 40))
    draw.rectangle((320, 40 + 30 * variant, 480, 200 + 30 * variant), fill=(30, 90, 200))
    return img


def _flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    return _save(_scene().resize((600, 400)), "JPEG", exif=exif.tobytes())


def _animated_webp() -> bytes:
    frames = [_scene(i) for i in range(3)]
    return _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def _opaque_rgba() -> bytes:
    return _save(_scene().convert("RGBA"), "PNG")


PNG = image_bytes(512, 512, "PNG", color=(10, 120, 200))
JPEG = _save(_scene(3), "JPEG", quality=90)

# (file name, content, expected code, expected severity, rules)
CASES: dict[str, tuple[str, Callable[[], bytes], str, Severity, dict]] = {
    "zero-byte": ("empty.png", lambda: b"", "empty_file", ERROR, {}),
    "corrupt-png-crc": ("crc.png", lambda: _flip_byte(PNG, len(PNG) // 2), "corrupt", ERROR, {}),
    "corrupt-jpeg-header": (
        "bad.jpg",
        lambda: b"\xff\xd8\xff\xe0" + random.Random(7).randbytes(2000),
        "corrupt",
        ERROR,
        {},
    ),
    "not-an-image": ("noise.jpg", lambda: b"just some text\n" * 100, "unrecognized", ERROR, {}),
    "truncated-png": ("cut.png", lambda: PNG[: len(PNG) // 2], "truncated", ERROR, {}),
    "truncated-jpeg": ("cut.jpg", lambda: JPEG[: len(JPEG) // 2], "truncated", ERROR, {}),
    "tiny-100px": ("tiny.png", lambda: image_bytes(100, 100), "too_small", ERROR, {}),
    "300px-native": (
        "small.png",
        lambda: image_bytes(300, 300),
        "too_small",
        ERROR,
        {"increase_resolution": False},
    ),
    "gif": ("logo.gif", lambda: image_bytes(300, 300, "GIF"), "unsupported_format", ERROR, {}),
    "gif-named-png": ("logo.png", lambda: image_bytes(300, 300, "GIF"), "unsupported_format", ERROR, {}),
    "tiff": ("scan.tiff", lambda: image_bytes(300, 300, "TIFF"), "unsupported_format", ERROR, {}),
    "bmp": ("paint.bmp", lambda: image_bytes(300, 300, "BMP"), "unsupported_format", ERROR, {}),
    "heic": (
        "phone.heic",
        lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 64,
        "unsupported_format",
        ERROR,
        {},
    ),
    "svg": (
        "vector.svg",
        lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        "unsupported_format",
        ERROR,
        {},
    ),
    "pdf": ("deck.pdf", lambda: b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "unsupported_format", ERROR, {}),
    "html-named-png": (
        "page.png",
        lambda: b"<!DOCTYPE html><html><body>404</body></html>",
        "unsupported_format",
        ERROR,
        {},
    ),
    "png-named-jpg": ("spoof.jpg", lambda: image_bytes(400, 400, "PNG"), "spoofed_extension", WARNING, {}),
    "jpeg-named-gif": ("photo.gif", lambda: JPEG, "spoofed_extension", ERROR, {}),
    "png+zip-polyglot": ("poly.png", lambda: PNG + _zip(), "polyglot", ERROR, {}),
    "jpeg+zip-polyglot": ("poly.jpg", lambda: JPEG + _zip(), "polyglot", ERROR, {}),
    "bomb-30000px": ("bomb.png", lambda: _png_bomb(30000, 30000), "decompression_bomb", ERROR, {}),
    "bomb-100mpx": ("bomb100.png", lambda: _png_bomb(10000, 10000), "decompression_bomb", ERROR, {}),
    "too-many-bytes": ("big.png", lambda: PNG, "file_too_large", ERROR, {"max_bytes": 1000}),
    "aspect-8000x300": ("banner.png", lambda: image_bytes(8000, 300), "aspect_ratio", ERROR, {}),
    "aspect-1200x300": ("strip.png", lambda: image_bytes(1200, 300), "aspect_ratio", WARNING, {}),
    "alpha": ("cutout.png", lambda: image_bytes(400, 400, mode="RGBA"), "alpha", WARNING, {}),
    "alpha-refused": (
        "cutout.png",
        lambda: image_bytes(400, 400, mode="RGBA"),
        "alpha",
        ERROR,
        {"allow_alpha": False},
    ),
    "alpha-opaque": ("opaque.png", _opaque_rgba, "alpha", INFO, {}),
    "exif-rotated": ("rotated.jpg", _exif_rotated_jpeg, "exif_orientation", WARNING, {}),
    "animated-webp": ("anim.webp", _animated_webp, "animated", WARNING, {}),
}


def _folder(root: Path, files: dict[str, bytes] | None = None, good: int = 5) -> Path:
    """``good`` distinct valid 512 px images plus ``files``."""
    folder = root / "brand"
    folder.mkdir(exist_ok=True)
    for i, data in enumerate(distinct_images(good)):
        (folder / f"good_{i:02}.png").write_bytes(data)
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    return folder


def _of(report: LintReport, path: Path) -> list[Finding]:
    return [f for f in report.findings if f.path == str(path)]


def test_good_folder_passes(tmp_path):
    folder = _folder(tmp_path, good=6)
    report = lint_folder(folder)
    assert report.ok and report.findings == [], report.findings
    assert report.image_count == 6 and len(report.images) == 6 and report.files_scanned == 6
    assert {i.format for i in report.images} == {"png"} and all(i.width == 512 for i in report.images)
    report.raise_for_errors()  # no-op
    assert "6 images, 0 errors" in report.summary() and report.summary().endswith("OK")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own, from 89 Mpx
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_bad_file_is_caught_with_its_path(tmp_path, case):
    name, make, code, severity, rules_kw = CASES[case]
    data = make()
    rules = LintRules(**rules_kw)
    folder = _folder(tmp_path, {name: data})
    report = lint_folder(folder, rules)
    mine = _of(report, folder / name)
    assert any(f.code == code and f.severity is severity for f in mine), mine
    assert all(f.message.startswith(f"{folder / name}: ") for f in mine)
    assert report.ok is (severity is not ERROR), report.errors  # nothing else in the folder is at fault
    # Never laxer than the upload path: whatever the client would refuse, lint reports as an error.
    has_error = any(f.severity is ERROR for f in mine)
    try:
        info = inspect_image(data, name=name, max_bytes=rules.max_bytes)
        check_resolution(info, increase_resolution=rules.increase_resolution)
    except BriaValidationError:
        assert has_error, f"upload would refuse {name} but lint passed it"


def test_bomb_is_refused_from_the_header_quickly(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_bomb(30000, 30000))
    start = time.perf_counter()
    report = lint_folder(tmp_path)
    elapsed = time.perf_counter() - start
    print(f"bomb rejected in {elapsed * 1000:.1f} ms")
    assert [f.code for f in _of(report, path)] == ["decompression_bomb"]
    assert elapsed < 1.0


def test_exif_rotation_reports_stored_and_displayed_size(tmp_path):
    folder = _folder(tmp_path, {"rotated.jpg": _exif_rotated_jpeg()})
    (finding,) = _of(lint_folder(folder), folder / "rotated.jpg")
    assert "stored 600x400, displayed 400x600" in finding.message


def test_polyglot_names_what_follows(tmp_path):
    folder = _folder(tmp_path, {"poly.png": PNG + _zip()})
    (finding,) = _of(lint_folder(folder), folder / "poly.png")
    assert "ZIP" in finding.message and "after the PNG end marker" in finding.message


@pytest.mark.parametrize("n,code", [(0, "too_few_images"), (4, "too_few_images"), (201, "too_many_images")])
def test_image_count_out_of_bounds(tmp_path, n, code):
    folder = tmp_path / "brand"
    folder.mkdir()
    for i, data in enumerate(distinct_images(n, size=256, fmt="JPEG")):
        (folder / f"{i:03}.jpg").write_bytes(data)
    report = lint_folder(folder)
    (finding,) = [f for f in report.errors if f.code == code]
    assert finding.path == str(folder) and finding.message.startswith(f"{folder}: {n} images: ")
    rule = "at least 5" if n < 5 else "at most 200"
    assert rule in finding.message


def test_count_bounds_and_recommendation(tmp_path):
    folder = _folder(tmp_path, good=6)
    assert [f.code for f in lint_folder(folder, LintRules(max_images=5)).errors] == ["too_many_images"]
    (note,) = lint_folder(folder, LintRules(recommended_max=5)).findings
    assert (note.code, note.severity) == ("many_images", INFO) and "recommends 5-5" in note.message


def test_exact_duplicates_count_once(tmp_path):
    folder = _folder(tmp_path, good=4)
    (folder / "copy.png").write_bytes((folder / "good_01.png").read_bytes())
    report = lint_folder(folder)
    assert report.image_count == 4
    dup = next(f for f in report.findings if f.code == "duplicate")
    assert dup.severity is WARNING and dup.path == str(folder / "good_01.png")
    assert str(folder / "copy.png") in dup.message  # names both files
    assert [f.code for f in report.errors] == ["too_few_images"]  # 5 files, 4 distinct images


@pytest.mark.parametrize("variant", ["recompressed", "one-pixel"])
def test_near_duplicates_are_warned(tmp_path, variant):
    original = _scene()
    if variant == "recompressed":
        twin = _save(original, "JPEG", quality=75)
    else:
        changed = original.copy()
        changed.putpixel((10, 10), (0, 255, 0))
        twin = _save(changed, "PNG")
    folder = _folder(tmp_path, {"a_original.png": _save(original, "PNG"), "b_twin.png": twin})
    report = lint_folder(folder)
    near = [f for f in report.findings if f.code == "near_duplicate"]
    assert len(near) == 1 and near[0].severity is WARNING
    assert near[0].path == str(folder / "b_twin.png") and str(folder / "a_original.png") in near[0].message


def test_different_pictures_are_not_near_duplicates(tmp_path):
    files = {f"scene_{i}.png": _save(_scene(i), "PNG") for i in range(4)}
    files["scene_0_inverted.png"] = _save(ImageChops.invert(_scene(0)), "PNG")
    report = lint_folder(_folder(tmp_path, files))
    assert not [f for f in report.findings if f.code == "near_duplicate"], report.findings


def test_symlinks_are_errors_and_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(image_bytes(400, 400))
    folder = _folder(tmp_path)
    (folder / "link.png").symlink_to(outside / "secret.png")
    (folder / "linked_dir").symlink_to(outside, target_is_directory=True)
    (folder / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    report = lint_folder(folder, LintRules(recursive=True))
    for name in ("link.png", "linked_dir", "dangling.jpg"):
        (finding,) = _of(report, folder / name)
        assert (finding.code, finding.severity) == ("symlink", ERROR) and "not uploaded" in finding.message
    assert report.image_count == 5 and all("outside" not in i.name for i in report.images)
    assert [e.path.name for e in build_manifest(folder, recursive=True)] == [
        f"good_{i:02}.png" for i in range(5)
    ]


def test_hidden_and_other_files_are_ignored_with_a_note(tmp_path):
    folder = _folder(tmp_path)
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / "._good_00.png").write_bytes(b"\0\5\26\7AppleDouble")
    (folder / "notes.txt").write_text("shoot notes")
    (folder / "raw").mkdir()
    report = lint_folder(folder)
    assert report.ok and report.image_count == 5
    assert sorted((Path(f.path).name, f.code, f.severity) for f in report.findings) == [
        (".DS_Store", "hidden", INFO),
        ("._good_00.png", "hidden", INFO),
        ("notes.txt", "ignored", INFO),
        ("raw", "ignored", INFO),
    ]


def test_recursive_lint_matches_recursive_manifest(tmp_path):
    folder = _folder(tmp_path, good=3)
    (folder / "sub").mkdir()
    for i, data in enumerate(distinct_images(6)[3:]):
        (folder / "sub" / f"more_{i}.jpg").write_bytes(data)  # PNG content: spoofed, still uploaded
    flat, deep = lint_folder(folder), lint_folder(folder, LintRules(recursive=True))
    assert [f.code for f in flat.errors] == ["too_few_images"]
    assert deep.ok and deep.image_count == 6
    assert [i.name for i in deep.images] == [str(e.path) for e in build_manifest(folder, recursive=True)]
    assert deep.manifest == build_manifest(folder, recursive=True)  # the upload manifest, from one read


def test_lint_carries_the_manifest_with_duplicates_collapsed(tmp_path):
    folder = _folder(tmp_path)
    (folder / "zz_copy.png").write_bytes((folder / "good_01.png").read_bytes())
    report = lint_folder(folder)
    assert report.manifest == build_manifest(folder) and len(report.manifest) == 5


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_folder_that_is_not_a_directory(tmp_path, kind):
    target = tmp_path / "brand"
    if kind == "file":
        target.write_bytes(PNG)
    report = lint_folder(target)
    (finding,) = report.findings
    assert (finding.code, finding.severity, finding.path) == ("not_a_directory", ERROR, str(target))
    with pytest.raises(BriaValidationError) as exc:
        report.raise_for_errors()
    assert exc.value.field == str(target)


def test_unreadable_file(tmp_path, monkeypatch):
    folder = _folder(tmp_path, {"locked.png": PNG})
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.png":  # chmod 0 does not stop root, so refuse the read here
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    (finding,) = _of(lint_folder(folder), folder / "locked.png")
    assert (finding.code, finding.severity) == (
        "unreadable",
        ERROR,
    ) and "Permission denied" in finding.message


def test_advanced_rules():
    rules = LintRules(upload_type=UploadType.ADVANCED)
    assert (rules.advanced, rules.image_limit, rules.min_side) == (True, 5000, 1024)
    assert (LintRules().image_limit, LintRules().min_side, LintRules(increase_resolution=False).min_side) == (
        200,
        256,
        1024,
    )


def test_raise_for_errors_names_the_files(tmp_path):
    bad = {f"bad_{i:02}.png": b"" for i in range(12)}
    report = lint_folder(_folder(tmp_path, bad))
    with pytest.raises(BriaValidationError) as exc:
        report.raise_for_errors()
    folder = tmp_path / "brand"
    assert exc.value.field == str(folder / "bad_00.png")
    message = str(exc.value)
    assert "12 error(s)" in message and f"{folder / 'bad_00.png'}: file is empty" in message
    assert str(folder / "bad_09.png") in message and "bad_10.png" not in message and "and 2 more" in message


def test_rows_summary_and_table(tmp_path):
    from rich.console import Console

    folder = _folder(tmp_path, {"empty.png": b"", "spoof.jpg": image_bytes(400, 400)})
    report = lint_folder(folder)
    rows = report.as_rows()
    assert [list(r) for r in rows] == [["path", "severity", "code", "message"]] * 2
    assert [(r["severity"], r["code"]) for r in rows] == [
        ("error", "empty_file"),
        ("warning", "spoofed_extension"),
    ]
    assert report.summary() == f"{folder}: 7 images, 1 errors, 1 warnings, 0 info: FAILED"
    console = Console(record=True, width=250)
    console.print(render_table(report))
    text = console.export_text()
    assert str(folder / "empty.png") in text and "spoofed_extension" in text


def _with_tag(data: bytes, fmt: str, tag: int) -> bytes:
    """The same pixels under a different sha256 (a text chunk / comment), without re-encoding."""
    if fmt == "PNG":
        return data[:-12] + _chunk(b"tEXt", b"id\0%d" % tag) + data[-12:]
    text = b"id %d" % tag
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]


@pytest.mark.slow
def test_200_images_of_1024px_lint_fast(tmp_path):
    """200 photo-like 1024 px images (150 JPEG, 50 PNG) lint in well under 10 s on 2 cores."""
    base = Image.merge(
        "RGB", [Image.effect_noise((1024, 1024), s).filter(ImageFilter.GaussianBlur(3)) for s in (30, 50, 70)]
    )
    encoded = []
    for i in range(8):
        img = ImageChops.offset(base, 131 * i, 71 * i)
        ImageDraw.Draw(img).ellipse((40 * i, 60, 500 + 40 * i, 700), fill=(30 * i, 200 - 20 * i, 90))
        fmt = "PNG" if i % 4 == 0 else "JPEG"
        encoded.append(
            (fmt, _save(img, fmt, compress_level=1) if fmt == "PNG" else _save(img, fmt, quality=90))
        )
    folder = tmp_path / "brand"
    folder.mkdir()
    for n in range(200):
        fmt, data = encoded[n % len(encoded)]
        (folder / f"{n:03}.{fmt.lower()}").write_bytes(_with_tag(data, fmt, n))
    start = time.perf_counter()
    report = lint_folder(folder)
    elapsed = time.perf_counter() - start
    print(f"lint of 200 x 1024 px images: {elapsed:.2f} s on {os.cpu_count()} cores")
    assert report.ok and report.image_count == 200 and len(report.images) == 200
    assert sum(f.code == "near_duplicate" for f in report.findings) == 200 - len(encoded)
    assert elapsed < 10
