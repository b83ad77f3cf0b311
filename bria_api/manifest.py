"""Inventory of a local image folder: what is in it, what each file really is, what to upload exactly once.

Each file is named by its content: ``image_name`` starts with the first 16 hex digits of its sha256, so a
re-run lists the dataset's images, reads the prefixes back and uploads only what is missing. No local state
file is needed, and renaming or moving a file locally never uploads it twice. ``scan_folder`` (by name) and
``sniff_format``/``image_end`` (by content) are shared with ``bria_api.lint``, so both agree on every file.
"""

from __future__ import annotations

import hashlib
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bria_api.errors import BriaValidationError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})  # what Bria accepts, and all we upload
# Image-like files Bria refuses: lint reports them as errors rather than silently leaving them out.
OTHER_IMAGE_SUFFIXES = frozenset(
    ".gif .tif .tiff .bmp .heic .heif .avif .svg .pdf .psd .ico .jxl .jp2 .dng .cr2 .nef .arw .raw .jfif .mpo".split()
)
IMAGE_NAME_MAX = 100
SHA_PREFIX_LEN = 16
_HASH_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_PREFIX = re.compile(r"([0-9a-f]{16})_")

# fmt: off
_MAGIC = {
    b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF87a": "GIF", b"GIF89a": "GIF", b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF", b"BM": "BMP", b"%PDF": "PDF", b"PK\x03\x04": "ZIP", b"PK\x05\x06": "ZIP", b"8BPS": "PSD",
    b"\x00\x00\x01\x00": "ICO", b"\xff\x0a": "JPEG XL", b"\x00\x00\x00\x0cJXL ": "JPEG XL", b"Rar!": "RAR",
    b"\x00\x00\x00\x0cjP  ": "JPEG 2000", b"7z\xbc\xaf": "7Z", b"%!PS": "PostScript", b"\x7fELF": "ELF executable",
}
# fmt: on
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_JPEG_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")  # a real marker inside entropy-coded data

EntryKind = Literal[
    "image", "other_image", "other", "hidden", "symlink", "directory", "special", "unreadable"
]


@dataclass(frozen=True)
class ManifestEntry:
    path: Path
    sha256: str
    image_name: str
    size_bytes: int


@dataclass(frozen=True)
class FolderEntry:
    """One thing found in the folder; only ``kind == "image"`` is ever uploaded."""

    rel: str  # posix path relative to the folder: the sort key shared by lint and manifest
    path: Path
    kind: EntryKind


def image_name_for(sha256: str, path: Path) -> str:
    """The name an image is uploaded under: ``<16 hex of sha256>_<safe stem><suffix>``, at most 100 chars.

    Args:
        sha256: Hex sha256 of the file's content (at least 16 hex digits).
        path: The local file; only its name is used, for humans reading the dataset.

    Returns:
        A deterministic name that ``sha_prefix_of`` parses back to ``sha256[:16]``.

    Raises:
        ValueError: ``sha256`` does not start with 16 hex digits.
    """
    prefix = sha256[:SHA_PREFIX_LEN].lower()
    if not _PREFIX.fullmatch(prefix + "_"):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    suffix = _UNSAFE.sub("-", path.suffix.lower())[:10]
    stem = _UNSAFE.sub("-", path.stem)
    budget = IMAGE_NAME_MAX - SHA_PREFIX_LEN - 1 - len(suffix)
    return f"{prefix}_{stem[:budget]}{suffix}"


def sha_prefix_of(image_name: str | None) -> str | None:
    """The sha256 prefix carried by a name made by ``image_name_for``; None for any other name.

    Args:
        image_name: A remote image's ``image_name`` (may be None: Bria allows unnamed images).

    Returns:
        The 16 lowercase hex digits, or None.
    """
    if not isinstance(image_name, str):
        return None
    match = _PREFIX.match(image_name)
    return match.group(1) if match else None


def sha256_file(path: Path, *, chunk_size: int = _HASH_CHUNK) -> tuple[str, int]:
    """``(hex sha256, size in bytes)`` of a file, read in chunks so memory stays flat whatever its size."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _kind_of(entry: os.DirEntry[str]) -> EntryKind:
    # Order matters: a symlink is reported as such and never followed, whatever it points to.
    if entry.is_symlink():
        return "symlink"
    if entry.name.startswith("."):
        return "hidden"  # .DS_Store, ._IMG.jpg (AppleDouble), .git: never user images
    if entry.is_dir(follow_symlinks=False):
        return "directory"
    if not entry.is_file(follow_symlinks=False):
        return "special"  # FIFO, socket, device: opening one could block forever
    suffix = Path(entry.name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return "other_image" if suffix in OTHER_IMAGE_SUFFIXES else "other"


def scan_folder(folder: Path, *, recursive: bool = False) -> list[FolderEntry]:
    """Everything in ``folder``, classified, sorted by relative path; symlinks are listed, never followed.

    Args:
        folder: The local folder.
        recursive: Descend into subfolders (hidden ones and symlinked ones never).

    Returns:
        One entry per file or folder; a subfolder is an entry of kind ``directory`` when not recursive,
        and of kind ``unreadable`` when it cannot be listed.

    Raises:
        OSError: ``folder`` itself cannot be listed.
    """
    found: list[FolderEntry] = []
    pending: list[tuple[Path, str]] = [(folder, "")]
    while pending:
        here, rel_dir = pending.pop()
        try:
            with os.scandir(here) as it:
                entries = list(it)
        except OSError:
            if here == folder:
                raise
            found.append(FolderEntry(rel_dir.rstrip("/"), here, "unreadable"))
            continue
        for entry in entries:
            rel, kind = rel_dir + entry.name, _kind_of(entry)
            if kind == "directory" and recursive:
                pending.append((Path(entry.path), rel + "/"))
            else:
                found.append(FolderEntry(rel, Path(entry.path), kind))
    return sorted(found, key=lambda e: e.rel)


def build_manifest(folder: Path, *, recursive: bool = False) -> list[ManifestEntry]:
    """The files to upload: JPEG/PNG/WEBP by suffix, in relative-path order, each content once.

    Symlinks, hidden and other files are skipped (lint reports them). Files with identical content are
    collapsed to the first one, so an exact duplicate is uploaded once.

    Args:
        folder: The local folder of images.
        recursive: Include images in subfolders.

    Returns:
        One entry per distinct content.

    Raises:
        BriaValidationError: ``folder`` is not a readable directory.
    """
    if not folder.is_dir():
        raise BriaValidationError(f"{folder}: not a directory", field=str(folder))
    try:
        entries = scan_folder(folder, recursive=recursive)
    except OSError as exc:
        raise BriaValidationError(
            f"{folder}: cannot list folder ({exc.strerror})", field=str(folder)
        ) from None
    manifest: list[ManifestEntry] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.kind != "image":
            continue
        try:
            sha, size = sha256_file(entry.path)
        except OSError as exc:
            raise BriaValidationError(
                f"{entry.path}: cannot read ({exc.strerror})", field=str(entry.path)
            ) from None
        if sha in seen:
            continue
        seen.add(sha)
        manifest.append(ManifestEntry(entry.path, sha, image_name_for(sha, entry.path), size))
    return manifest


def missing_from(
    manifest: Iterable[ManifestEntry], remote_image_names: Iterable[str | None]
) -> list[ManifestEntry]:
    """Manifest entries whose content is not in the dataset yet, judged by the sha prefix in each name.

    Args:
        manifest: The local entries, from ``build_manifest``.
        remote_image_names: ``image_name`` of every image the dataset holds (None and foreign names are ignored).

    Returns:
        The entries to upload, in manifest order.
    """
    present = {p for p in map(sha_prefix_of, remote_image_names) if p}
    return [e for e in manifest if e.sha256[:SHA_PREFIX_LEN].lower() not in present]


# What a file is, by content: upload sends bytes, so names are never trusted.


def sniff_format(data: bytes) -> str | None:
    """The format named by the content's magic bytes (``JPEG``, ``PNG``, ``GIF``, ``HTML``...), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if found := next((name for magic, name in _MAGIC.items() if data.startswith(magic)), None):
        return found
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return "AVIF" if brand in (b"avif", b"avis") else "HEIC" if brand in _HEIF_BRANDS else "MP4/QuickTime"
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "SVG"
    return "HTML" if b"<html" in text or b"<body" in text or text.startswith(b"<!doctype html") else None


def png_chunks(data: bytes) -> Iterator[tuple[bytes, int, bool]]:
    """``(chunk type, end offset, CRC matches)`` for each complete PNG chunk, up to IEND."""
    view, i = memoryview(data), 8
    while i + 12 <= len(data):
        ctype, end = data[i + 4 : i + 8], i + 12 + int.from_bytes(data[i : i + 4], "big")
        if end > len(data):
            return  # truncated: the decoder reports it
        yield ctype, end, zlib.crc32(view[i + 4 : end - 4]) == int.from_bytes(data[end - 4 : end], "big")
        if ctype == b"IEND":
            return
        i = end


def image_end(kind: str, data: bytes) -> int | None:
    """Offset just past the image's end marker (PNG IEND, JPEG EOI, WEBP RIFF size); None if not followable."""
    n, i = len(data), 2 if kind == "JPEG" else 8
    if kind == "WEBP":
        end = 8 + int.from_bytes(data[4:8], "little")
        return end + (end & 1)  # RIFF pads to even length
    if kind == "PNG":
        return next((end for ctype, end, _ in png_chunks(data) if ctype == b"IEND"), None)
    while kind == "JPEG" and i < n and data[i] == 0xFF:  # segments: FF marker [length payload]
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        marker, i = data[i] if i < n else 0xD9, i + 1
        if marker == 0xD9:  # EOI
            return i
        if marker != 0x01 and not 0xD0 <= marker <= 0xD7:
            i += int.from_bytes(data[i : i + 2], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            match = _JPEG_MARKER.search(data, i)
            i = match.start() if match else n
    return None
