"""Bulk ZIP lint: an advanced dataset's archive, checked before it is handed to Bria, never extracted.

Bria takes one ZIP per advanced dataset and refuses a second attempt, so a bad archive costs the dataset.
The central directory is judged first (entry count, declared sizes, compression ratio, unsafe names,
symlinks, nested archives), without inflating anything; then each image entry is inflated through a capped
read (declared sizes are never trusted) and checked like a file of a folder. Nothing is written to disk, and
at most one entry (``max_bytes``) is held in memory.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from bria_api.errors import BriaValidationError
from bria_api.images import DEFAULT_MAX_BYTES, MIN_SIDE_NATIVE, inspect_image
from bria_api.lint import (
    ADVANCED_MAX_IMAGES,
    ADVANCED_MAX_TOTAL_BYTES,
    ERROR,
    INFO,
    WARNING,
    Finding,
    LintReport,
    Severity,
)

MAX_COMPRESSION_RATIO = 50  # JPEG/PNG/WEBP barely compress; an entry that shrank 50x is not a photo
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
_ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz"}
_S_IFMT, _S_IFLNK = 0o170000, 0o120000
_RANK = {ERROR: 0, WARNING: 1, INFO: 2}
Add = Callable[[str, str, Severity, str], None]


def _unsafe(name: str) -> bool:
    """Would escape the folder it is extracted to: absolute, drive-letter, ``..`` or backslash paths."""
    path = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or ".." in path.parts or bool(re.match(r"^[A-Za-z]:", name))


def lint_zip(
    archive_path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_images: int = 5,
    max_images: int = ADVANCED_MAX_IMAGES,
    min_side: int = MIN_SIDE_NATIVE,
) -> LintReport:
    """Check a bulk ZIP against Bria's advanced-dataset rules; nothing is sent or extracted.

    Args:
        archive_path: The ZIP file you are about to upload for ``bulk_upload``.
        max_bytes: Largest image entry, inflated.
        min_images: Fewest distinct images.
        max_images: Most entries (Bria: 5000).
        min_side: Smallest side in pixels (advanced datasets are not upscaled: 1024).

    Returns:
        A ``LintReport``; each finding's path is ``<zip>:<entry>`` (or the ZIP itself).
    """
    archive_path = Path(archive_path)
    report = LintReport(str(archive_path))
    findings: list[Finding] = []

    def add(where: str, code: str, severity: Severity, text: str) -> None:
        findings.append(Finding(where, code, severity, f"{where}: {text}"))

    top = str(archive_path)
    try:
        archive = zipfile.ZipFile(archive_path)
        infos = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        add(top, "not_a_zip", ERROR, f"not a readable ZIP archive ({type(exc).__name__})")
        report.findings = findings
        return report
    with archive:
        report.files_scanned = len(infos)
        declared = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if len(infos) > max_images:  # decided from the directory: not one entry is inflated
            add(
                top,
                "too_many_images",
                ERROR,
                f"{len(infos)} entries: an advanced dataset holds at most {max_images}",
            )
        elif declared > ADVANCED_MAX_TOTAL_BYTES:
            add(top, "dataset_too_large", ERROR, f"declares {declared} bytes: over the 5 GB bulk zip limit")
        elif declared / packed > MAX_COMPRESSION_RATIO:
            add(
                top,
                "zip_bomb",
                ERROR,
                f"inflates {declared // packed}x ({packed} -> {declared} bytes): zip bomb",
            )
        else:
            _check_entries(archive, infos, top, add, report, max_bytes=max_bytes, min_side=min_side)
            if report.image_count < min_images:
                add(
                    top,
                    "too_few_images",
                    ERROR,
                    f"{report.image_count} images: Bria needs at least {min_images}",
                )
    report.findings = sorted(findings, key=lambda f: (_RANK[f.severity], f.path != top, f.path))
    return report


def _check_entries(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    top: str,
    add: Add,
    report: LintReport,
    *,
    max_bytes: int,
    min_side: int,
) -> None:
    """Entry by entry, cheapest checks first; only plausible image entries are inflated (capped)."""
    seen: set[str] = set()
    for info in infos:
        name, where = info.filename, f"{top}:{info.filename}"
        base = PurePosixPath(name.replace("\\", "/"))
        if _unsafe(name):
            add(where, "zip_slip", ERROR, "path escapes the archive (absolute or '..'): zip-slip")
            continue
        if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
            add(where, "symlink", ERROR, "symbolic link entry: not an image, and unsafe to extract")
            continue
        if info.is_dir() or name.startswith("__MACOSX/") or base.name.startswith("."):
            continue
        suffix = base.suffix.lower()
        if suffix in _ARCHIVE_SUFFIXES:
            add(
                where,
                "nested_archive",
                ERROR,
                "archive inside the archive: Bria does not unpack nested archives",
            )
            continue
        if suffix not in _IMAGE_SUFFIXES:
            add(where, "ignored", INFO, "not an image file (.jpg, .jpeg, .png, .webp), ignored")
            continue
        if info.file_size > max_bytes:
            add(
                where,
                "file_too_large",
                ERROR,
                f"declares {info.file_size} bytes, over the {max_bytes} byte limit",
            )
            continue
        if info.file_size > MAX_COMPRESSION_RATIO * max(1, info.compress_size):
            add(
                where,
                "zip_bomb",
                ERROR,
                f"inflates {info.file_size // max(1, info.compress_size)}x: zip bomb",
            )
            continue
        try:
            with archive.open(info) as handle:
                data = handle.read(max_bytes + 1)  # never more than the cap, whatever the header says
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
            add(where, "corrupt", ERROR, f"entry cannot be inflated ({type(exc).__name__})")
            continue
        if len(data) > max_bytes:
            add(where, "zip_bomb", ERROR, f"inflates past its declared size and the {max_bytes} byte limit")
            continue
        try:
            image = inspect_image(data, name=where, max_bytes=max_bytes)
        except BriaValidationError as exc:
            add(where, "bad_image", ERROR, str(exc).removeprefix(f"{where}: "))
            continue
        if min(image.width, image.height) < min_side:
            add(where, "too_small", ERROR, f"{image.width}x{image.height} is below {min_side} px per side")
            continue
        seen.add(hashlib.sha256(data).hexdigest())
    report.image_count = len(seen)
