"""Content-addressed manifest: deterministic names, duplicates collapsed, re-runs upload only what is missing."""

from __future__ import annotations

import hashlib
import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bria_api.errors import BriaValidationError
from bria_api.manifest import (
    IMAGE_NAME_MAX,
    build_manifest,
    image_end,
    image_name_for,
    missing_from,
    scan_folder,
    sha256_file,
    sha_prefix_of,
    sniff_format,
)
from tests.imagegen import distinct_images, image_bytes

SHA = hashlib.sha256(b"hero").hexdigest()
SAFE_NAME = re.compile(r"[0-9a-f]{16}_[A-Za-z0-9._-]*")


def test_image_name_is_deterministic_and_readable():
    name = image_name_for(SHA, Path("shoot/Hero Shot (1).PNG"))
    assert name == f"{SHA[:16]}_Hero-Shot--1-.png"
    assert image_name_for(SHA, Path("shoot/Hero Shot (1).PNG")) == name
    assert image_name_for(SHA.upper(), Path("elsewhere/Hero Shot (1).PNG")) == name  # only the name counts
    assert sha_prefix_of(name) == SHA[:16]


def test_image_name_is_truncated_to_100_chars():
    name = image_name_for(SHA, Path("x" * 500 + ".jpeg"))
    assert len(name) == IMAGE_NAME_MAX and name.endswith("x.jpeg") and sha_prefix_of(name) == SHA[:16]


def test_image_name_needs_a_hex_digest():
    with pytest.raises(ValueError, match="sha256"):
        image_name_for("not-a-digest-at-all", Path("a.png"))


@pytest.mark.parametrize(
    "name",
    [
        None,
        "",
        "image_1.png",
        "hero.png",
        "0123456789abcde_x.png",
        "0123456789ABCDEF_x.png",
        "0123456789abcdefx.png",
    ],
)
def test_foreign_names_have_no_prefix(name):
    assert sha_prefix_of(name) is None


@given(
    digest=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    filename=st.text(min_size=0, max_size=300),
)
def test_prefix_round_trips_for_any_file_name(digest, filename):
    name = image_name_for(digest, Path(filename))
    assert sha_prefix_of(name) == digest[:16]
    assert len(name) <= IMAGE_NAME_MAX and SAFE_NAME.fullmatch(name), name


@given(data=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=700))
def test_streaming_hash_equals_hashlib(tmp_path_factory, data, chunk):
    path = tmp_path_factory.mktemp("h") / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path, chunk_size=chunk) == (hashlib.sha256(data).hexdigest(), len(data))


def _folder(root: Path) -> tuple[Path, list[bytes]]:
    images = distinct_images(4)
    folder = root / "brand"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.png").write_bytes(images[1])
    (folder / "a.PNG").write_bytes(images[0])
    (folder / "c.jpeg").write_bytes(images[2])
    (folder / "z_copy_of_a.webp").write_bytes(images[0])  # exact duplicate: uploaded once, as a.PNG
    (folder / "sub" / "d.jpg").write_bytes(images[3])
    (folder / ".hidden.png").write_bytes(images[3])
    (folder / "notes.txt").write_text("not an image")
    (folder / "logo.gif").write_bytes(image_bytes(300, 300, "GIF"))
    (folder / "link.png").symlink_to(root / "elsewhere.png")
    (root / "elsewhere.png").write_bytes(image_bytes(333, 333))
    return folder, images


def test_build_manifest(tmp_path):
    folder, images = _folder(tmp_path)
    manifest = build_manifest(folder)
    assert [e.path.name for e in manifest] == ["a.PNG", "b.png", "c.jpeg"]  # sorted, duplicate collapsed
    for entry, data in zip(manifest, images, strict=False):
        assert entry.sha256 == hashlib.sha256(data).hexdigest() and entry.size_bytes == len(data)
        assert entry.image_name == image_name_for(entry.sha256, entry.path) and entry.path.parent == folder
    assert manifest[0].image_name.endswith("_a.png")
    assert build_manifest(folder) == manifest  # deterministic
    assert [e.path.relative_to(folder).as_posix() for e in build_manifest(folder, recursive=True)] == [
        "a.PNG",
        "b.png",
        "c.jpeg",
        "sub/d.jpg",
    ]


def test_build_manifest_streams_files(tmp_path, monkeypatch):
    folder, _ = _folder(tmp_path)

    def no_whole_file_reads(self: Path) -> bytes:
        raise AssertionError(f"read {self} whole")

    monkeypatch.setattr(Path, "read_bytes", no_whole_file_reads)
    assert len(build_manifest(folder)) == 3


def test_build_manifest_needs_a_folder(tmp_path):
    with pytest.raises(BriaValidationError) as exc:
        build_manifest(tmp_path / "missing")
    assert exc.value.field == str(tmp_path / "missing")


def test_scan_folder_classifies_without_following_links(tmp_path):
    folder, _ = _folder(tmp_path)
    kinds = {e.rel: e.kind for e in scan_folder(folder)}
    assert kinds == {
        ".hidden.png": "hidden",
        "a.PNG": "image",
        "b.png": "image",
        "c.jpeg": "image",
        "link.png": "symlink",
        "logo.gif": "other_image",
        "notes.txt": "other",
        "sub": "directory",
        "z_copy_of_a.webp": "image",
    }


def test_missing_from_picks_exactly_the_missing_ones(tmp_path):
    folder, _ = _folder(tmp_path)
    manifest = build_manifest(folder, recursive=True)
    a, b, c, d = manifest
    renamed_b = image_name_for(b.sha256, Path("renamed locally.png"))  # same content, other name
    remote = [a.image_name, None, "image_7.png", renamed_b, "ffffffffffffffff_other.png"]
    assert missing_from(manifest, remote) == [c, d]
    assert missing_from(manifest, []) == manifest
    assert missing_from(manifest, [e.image_name for e in manifest]) == []


def test_sniff_and_end_marker():
    png = image_bytes(64, 64, "PNG")
    assert [sniff_format(image_bytes(64, 64, f)) for f in ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")] == [
        "PNG",
        "JPEG",
        "WEBP",
        "GIF",
        "BMP",
        "TIFF",
    ]
    assert (
        sniff_format(b"\xef\xbb\xbf  <svg/>") == "SVG" and sniff_format(string.ascii_letters.encode()) is None
    )
    for fmt in ("PNG", "JPEG", "WEBP"):
        data = image_bytes(64, 64, fmt)
        assert image_end(fmt, data) == len(data), fmt
        assert image_end(fmt, data + b"PK\x03\x04 trailing") == len(data), fmt
    assert image_end("PNG", png[:-20]) is None
