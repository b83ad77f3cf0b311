"""Dataset lint: every problem in a local image folder, per file, before any API call or credit.

Format is judged by content (magic bytes), never by name, because upload sends the bytes. Each file is read
once and decoded once (bombs are refused from the header, before decoding); the same decode yields the
size, alpha, EXIF orientation and a perceptual hash used to find near duplicates. Files are checked in a
small thread pool: Pillow, hashlib and file reads release the GIL.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from bria_api.errors import BriaValidationError
from bria_api.images import DEFAULT_MAX_BYTES, MAX_PIXELS, MIN_SIDE_NATIVE, MIN_SIDE_UPSCALED, ImageInfo
from bria_api.images import SUPPORTED_FORMATS as _FORMATS
from bria_api.manifest import (
    FolderEntry,
    ManifestEntry,
    image_end,
    image_name_for,
    png_chunks,
    scan_folder,
    sniff_format,
)

if TYPE_CHECKING:
    from rich.table import Table

BASIC_MAX_IMAGES = 200
ADVANCED_MAX_IMAGES = 5000
ADVANCED_MAX_TOTAL_BYTES = 5 * 1024**3  # the bulk zip limit
_WORKERS = max(1, min(4, os.cpu_count() or 1))  # each worker may hold one decoded image in memory
_NEAR_DUP_MAX_MEAN_DELTA = 12  # 8x8 colour thumbnails must match too: dHash alone equates all flat images
_SUFFIX_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    path: str
    code: str
    severity: Severity
    message: str  # always starts with the path


ERROR, WARNING, INFO = Severity  # short names for the many findings below
_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class LintRules:
    min_images: int = 5
    max_images: int | None = None  # None: 200 for a basic dataset, 5000 for an advanced (bulk) one
    upload_type: str = "basic"
    increase_resolution: bool = True  # Bria upscales from 256 px; False (or advanced) needs 1024 px
    max_bytes: int = DEFAULT_MAX_BYTES
    max_aspect_ratio: float = 3.0  # warning beyond
    error_aspect_ratio: float = 8.0  # error beyond
    near_duplicate_distance: int = 4  # Hamming distance between 64-bit dHashes
    allow_alpha: bool = True  # transparency is a warning, else an error
    recommended_max: int = 50  # Bria recommends 5-50 images
    recursive: bool = False  # must match build_manifest(recursive=...)

    @property
    def advanced(self) -> bool:
        return str(getattr(self.upload_type, "value", self.upload_type)).lower() == "advanced"

    @property
    def image_limit(self) -> int:
        default = ADVANCED_MAX_IMAGES if self.advanced else BASIC_MAX_IMAGES
        return default if self.max_images is None else self.max_images

    @property
    def min_side(self) -> int:
        return MIN_SIDE_UPSCALED if self.increase_resolution and not self.advanced else MIN_SIDE_NATIVE


@dataclass
class LintReport:
    folder: str
    findings: list[Finding] = field(default_factory=list)  # errors first, then by path
    images: list[ImageInfo] = field(default_factory=list)  # files that decoded, in path order
    files_scanned: int = 0  # everything found in the folder
    image_count: int = 0  # distinct contents that would be uploaded
    # What build_manifest would return, from the bytes lint decoded (one read and hash per file); each
    # entry was fully decoded, so an upload only has to check the bytes still hash the same.
    manifest: list[ManifestEntry] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line, e.g. ``brand: 12 images, 0 errors, 2 warnings, 1 info: OK``."""
        infos = len(self.findings) - len(self.errors) - len(self.warnings)
        verdict = "OK" if self.ok else "FAILED"
        return f"{self.folder}: {self.image_count} images, {len(self.errors)} errors, {len(self.warnings)} warnings, {infos} info: {verdict}"

    def as_rows(self) -> list[dict[str, str]]:
        """Rows for a table artifact, columns ``path``, ``severity``, ``code``, ``message``."""
        return [
            {"path": f.path, "severity": f.severity.value, "code": f.code, "message": f.message}
            for f in self.findings
        ]

    def raise_for_errors(self, limit: int = 10) -> None:
        """Raise ``BriaValidationError`` listing the first ``limit`` errors; ``field`` is the first path at fault."""
        errors = self.errors
        if errors:
            lines = [f"  - {f.message}" for f in errors[:limit]]
            lines += [f"  ... and {len(errors) - limit} more"] if len(errors) > limit else []
            message = f"lint found {len(errors)} error(s) in {self.folder}:\n" + "\n".join(lines)
            raise BriaValidationError(message, field=errors[0].path)


@dataclass
class _Checked:
    """What one file's check produced."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    info: ImageInfo | None = None
    sha256: str | None = None
    dhash: int | None = None
    thumb: bytes | None = None

    def add(self, code: str, severity: Severity, text: str) -> _Checked:
        self.findings.append(Finding(self.path, code, severity, f"{self.path}: {text}"))
        return self


def _fingerprint(img: Image.Image) -> tuple[int, bytes]:
    """64-bit dHash and an 8x8 RGB thumbnail; ``img`` is shrunk in place (it is not needed afterwards)."""
    img.thumbnail((64, 64))  # reduce() first: cheap even on a 50 Mpx image
    rgb = img.convert("RGB")
    gray = rgb.convert("L").resize((9, 8), Image.Resampling.BOX).tobytes()
    bits = [gray[i] > gray[i + 1] for i in range(72) if i % 9 != 8]
    return sum(bit << k for k, bit in enumerate(bits)), rgb.resize((8, 8), Image.Resampling.BOX).tobytes()


def _check_file(entry: FolderEntry, rules: LintRules) -> _Checked:
    out = _Checked(str(entry.path))
    try:
        size = entry.path.stat().st_size
        if size == 0:
            return out.add("empty_file", ERROR, "file is empty (0 bytes)")
        if size > rules.max_bytes:  # refused without reading it
            return out.add("file_too_large", ERROR, f"{size} bytes is over the {rules.max_bytes} byte limit")
        data = entry.path.read_bytes()
    except OSError as exc:
        return out.add("unreadable", ERROR, f"cannot read ({exc.strerror or type(exc).__name__})")
    out.sha256 = hashlib.sha256(data).hexdigest()
    kind, suffix = sniff_format(data), entry.path.suffix.lower()
    if kind is None:
        return out.add("unrecognized", ERROR, "content is not a recognisable image (use JPEG, PNG or WEBP)")
    if kind not in ("JPEG", "PNG", "WEBP"):
        return out.add("unsupported_format", ERROR, f"content is {kind}: Bria accepts JPEG, PNG or WEBP only")
    if suffix not in _SUFFIX_FORMAT:  # e.g. a PNG named .gif: only image suffixes are uploaded
        return out.add("spoofed_extension", ERROR, f"content is {kind} but {suffix} files are not uploaded")
    if _SUFFIX_FORMAT[suffix] != kind:  # harmless for Bria (judged by content), misleading for people
        out.add("spoofed_extension", WARNING, f"spoofed extension: named {suffix} but content is {kind}")
    if kind == "PNG" and (bad := [t.decode("latin-1") for t, _, ok in png_chunks(data) if not ok]):
        out.add("corrupt", ERROR, f"corrupt PNG: chunk {bad[0]} fails its CRC check (damaged file)")
    end = image_end(kind, data)
    if end is not None and data[end:].strip(b"\x00"):  # zero padding is harmless
        looks = f" (looks like {trailer})" if (trailer := sniff_format(data[end:])) else ""
        text = f"{len(data) - end} bytes after the {kind} end marker{looks}: polyglot file, re-save the image"
        out.add("polyglot", ERROR, text)
    return _decode(out, data, kind, rules)


def _decode(out: _Checked, data: bytes, kind: str, rules: LintRules) -> _Checked:
    bomb = "rejected from the header as a decompression bomb"
    try:
        # No warnings.catch_warnings(): it is not thread-safe. Pillow warns from 89 Mpx, raises from 179 Mpx;
        # the MAX_PIXELS check below refuses everything over 50 Mpx anyway, still before decoding.
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return out.add("decompression_bomb", ERROR, f"{bomb} ({str(exc).split(',')[0]})")
    except Exception as exc:  # hostile input may raise anything: one file must not stop the lint
        return out.add("corrupt", ERROR, f"corrupt {kind}: cannot be opened ({type(exc).__name__})")
    with img:
        width, height = img.size
        if width * height > MAX_PIXELS:
            return out.add(
                "decompression_bomb", ERROR, f"{width}x{height} is over {MAX_PIXELS} pixels: {bomb}"
            )
        animated = img.format != "MPO" and getattr(img, "n_frames", 1) > 1  # MPO: its trailer is the polyglot
        if img.format == "JPEG" and not animated:
            # Decode every coefficient (truncation still raises) but at 1/8 scale: the fingerprint needs
            # 64 px, and skipping the full-size IDCT makes lint several times faster.
            img.draft(img.mode, (64, 64))
        try:
            img.load()  # the one decode: catches truncated and corrupt files
        except Exception as exc:
            if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
                return out.add("truncated", ERROR, f"truncated {kind}: the file ends before the image does")
            return out.add(
                "corrupt", ERROR, f"corrupt {kind}: cannot be decoded ({type(exc).__name__}: {exc})"
            )
        if min(width, height) == 0 or img.format not in (*_FORMATS, "MPO"):
            return out.add("corrupt", ERROR, f"{img.format or kind} of {width}x{height} pixels is unusable")
        alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
        fmt = _FORMATS.get(img.format or "", "jpeg")  # MPO is a JPEG with extra frames after its end
        out.info = ImageInfo(out.path, fmt, width, height, len(data), alpha, out.sha256 or "")
        _check_pixels(out, img, (width, height), rules, animated)
        try:
            out.dhash, out.thumb = _fingerprint(img)
        except Exception:  # exotic modes (I;16, F...): no near-duplicate check for this file
            pass
    return out


def _check_pixels(
    out: _Checked, img: Image.Image, size: tuple[int, int], rules: LintRules, animated: bool
) -> None:
    (width, height), side = size, rules.min_side
    if min(width, height) < side:
        why = " (advanced dataset)" if rules.advanced else " (increase_resolution off)"
        why = why if side > MIN_SIDE_UPSCALED else ""
        out.add("too_small", ERROR, f"{width}x{height} is below {side} px per side{why}")
    ratio = max(width, height) / min(width, height)
    if ratio > rules.max_aspect_ratio:
        over_error = ratio > rules.error_aspect_ratio
        limit = rules.error_aspect_ratio if over_error else rules.max_aspect_ratio
        text = f"aspect ratio {ratio:.1f}:1 ({width}x{height}) is over {limit:g}:1"
        out.add("aspect_ratio", ERROR if over_error else WARNING, text)
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        alpha = (
            img.getchannel("A") if img.mode in ("RGBA", "LA", "PA") else img.convert("RGBA").getchannel("A")
        )
        if alpha.getextrema()[0] == 255:  # an opaque alpha channel loses nothing
            out.add("alpha", INFO, "has an alpha channel, fully opaque (harmless)")
        else:
            text = "has transparent pixels: Bria converts transparent backgrounds to black"
            out.add("alpha", WARNING if rules.allow_alpha else ERROR, text)
    if (orientation := img.getexif().get(0x0112, 1)) in range(2, 9):
        shown = f"{height}x{width}" if orientation >= 5 else f"{width}x{height}"
        text = f"EXIF orientation {orientation}: stored {width}x{height}, displayed {shown} (rotated or mirrored)"
        out.add("exif_orientation", WARNING, text + "; Bria may not apply EXIF rotation: re-save it upright")
    if animated:
        out.add("animated", WARNING, "animated image: only the first frame is used")


def _near_duplicates(items: list[_Checked], max_distance: int) -> list[tuple[_Checked, _Checked, int]]:
    """``(earlier, later, distance)``, at most one per later file; pigeonhole buckets avoid all-pairs."""
    chunks = max(1, min(64, max_distance + 1))  # d differing bits leave at least one of d+1 chunks equal
    bounds = [64 * c // chunks for c in range(chunks + 1)]
    buckets: dict[tuple[int, int], list[int]] = {}
    pairs = []
    for j, item in enumerate(items):
        h = item.dhash or 0
        keys = [(c, (h >> bounds[c]) & ((1 << (bounds[c + 1] - bounds[c])) - 1)) for c in range(chunks)]
        for i in sorted({i for k in keys for i in buckets.get(k, ())}):
            other, distance = items[i], (h ^ (items[i].dhash or 0)).bit_count()
            delta = sum(abs(a - b) for a, b in zip(item.thumb or b"", other.thumb or b"", strict=True)) / 192
            if distance <= max_distance and delta <= _NEAR_DUP_MAX_MEAN_DELTA:
                pairs.append((other, item, distance))
                break
        for k in keys:
            buckets.setdefault(k, []).append(j)
    return pairs


_NOT_CHECKED = {  # kind -> (code, severity, text): what it means for the upload
    "symlink": ("symlink", ERROR, "symlink, not uploaded (copy the file itself into the folder)"),
    "hidden": ("hidden", INFO, "hidden file or folder, ignored"),
    "other": ("ignored", INFO, "not an image file (.jpg, .jpeg, .png, .webp are uploaded), ignored"),
    "directory": ("ignored", INFO, "subfolder, ignored (not recursive)"),
    "special": ("ignored", WARNING, "not a regular file (pipe, socket or device), ignored"),
    "unreadable": ("folder_unreadable", ERROR, "subfolder cannot be listed"),
}


def lint_folder(folder: Path, rules: LintRules = LintRules()) -> LintReport:
    """Check a local image folder against Bria's upload rules; nothing is sent anywhere.

    Args:
        folder: The folder of images (the same one ``build_manifest`` will read).
        rules: Limits to apply; ``LintRules(upload_type="advanced")`` for a bulk dataset.

    Returns:
        A report with one finding per problem, each naming its file; ``report.ok`` when no errors.
    """
    folder = Path(folder)
    report, top = LintReport(str(folder)), _Checked(str(folder))
    try:
        entries = scan_folder(folder, recursive=rules.recursive) if folder.is_dir() else None
    except OSError as exc:
        report.findings = top.add("folder_unreadable", ERROR, f"cannot list folder ({exc.strerror})").findings
        return report
    if entries is None:
        text = "not a directory" if folder.exists() else "no such folder"
        report.findings = top.add("not_a_directory", ERROR, text).findings
        return report
    report.files_scanned = len(entries)
    skipped = [_Checked(str(e.path)).add(*_NOT_CHECKED[e.kind]) for e in entries if e.kind in _NOT_CHECKED]
    checkable = [e for e in entries if e.kind in ("image", "other_image")]
    with ThreadPoolExecutor(_WORKERS) as pool:
        checked = list(pool.map(_check_file, checkable, [rules] * len(checkable)))
    first_by_sha: dict[str, _Checked] = {}
    for item, entry in zip(checked, checkable, strict=True):
        if entry.kind == "image" and item.sha256 in first_by_sha:
            item.add("duplicate", WARNING, f"same content as {first_by_sha[item.sha256].path}, uploaded once")
        elif entry.kind == "image" and item.sha256:
            first_by_sha[item.sha256] = item
        report.images += [item.info] if item.info and entry.kind == "image" else []
    report.manifest = [
        ManifestEntry(Path(c.path), sha, image_name_for(sha, Path(c.path)), c.info.size_bytes)
        for sha, c in first_by_sha.items()
        if c.info is not None
    ]
    hashed = [c for c in first_by_sha.values() if c.dhash is not None]
    for earlier, later, distance in _near_duplicates(hashed, rules.near_duplicate_distance):
        later.add("near_duplicate", WARNING, f"near duplicate of {earlier.path} (hash distance {distance})")
    unhashed = sum(1 for c, e in zip(checked, checkable, strict=True) if e.kind == "image" and not c.sha256)
    report.image_count = len(first_by_sha) + unhashed  # exact duplicates upload once
    _check_count(top, report, rules, sum(i.size_bytes for i in report.images))
    findings = [f for c in (*skipped, *checked, top) for f in c.findings]
    report.findings = sorted(findings, key=lambda f: (_RANK[f.severity], f.path != report.folder, f.path))
    return report


def _check_count(top: _Checked, report: LintReport, rules: LintRules, total_bytes: int) -> None:
    n, limit = report.image_count, rules.image_limit
    if n < rules.min_images:
        top.add("too_few_images", ERROR, f"{n} images: Bria needs at least {rules.min_images}")
    elif n > limit:
        kind = "an advanced" if rules.advanced else "a basic"
        top.add("too_many_images", ERROR, f"{n} images: {kind} dataset holds at most {limit}")
    elif n > rules.recommended_max and not rules.advanced:
        top.add("many_images", INFO, f"{n} images: Bria recommends 5-{rules.recommended_max}")
    if rules.advanced and total_bytes > ADVANCED_MAX_TOTAL_BYTES:
        top.add("dataset_too_large", ERROR, f"{total_bytes} bytes: over the 5 GB bulk zip limit")


def render_table(report: LintReport) -> Table:
    """A rich table of the findings (errors first), for the CLI.

    Args:
        report: The report from ``lint_folder``.

    Returns:
        A ``rich.table.Table`` to print with a rich console.
    """
    from rich.table import Table  # lazy: only the CLI needs rich

    styles = {ERROR: "bold red", WARNING: "yellow", INFO: "dim"}
    table = Table(title=f"lint of {report.folder}")  # the caller prints report.summary()
    for column in ("severity", "code", "path", "message"):
        table.add_column(column, overflow="fold")
    for f in report.findings:
        message = f.message.removeprefix(f"{f.path}: ")  # the path has its own column
        table.add_row(f.severity.value, f.code, f.path, message, style=styles[f.severity])
    return table
