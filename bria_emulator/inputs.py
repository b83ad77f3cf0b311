"""Decoding request inputs: base64 or URL images, and bulk ZIP archives (never extracted to disk)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

from bria_emulator.files import FileStore
from bria_emulator.images import DecodedImage, ImageRejected, inspect_image, render_image, render_thumbnail
from bria_emulator.state import BulkEntry, PendingImage
from bria_emulator.webhooks import is_loopback_url

MAX_FETCH_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 5000
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 512 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
_FILE_PATH = re.compile(r"^/_emulator/files/([0-9a-f]{8,64})$")


class InputRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_base64(value: str) -> bytes:
    """Bare base64 or a data: URL (bria-client strips the prefix, others may not)."""
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text.strip(), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InputRejected(415, "File is not valid base64 image data") from exc


async def fetch_url(files: FileStore, url: str) -> bytes:
    """Offline rule: only the emulator's own files or other loopback URLs can be fetched (else 422)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InputRejected(422, f"Invalid URL: {url[:200]}")
    own = _FILE_PATH.match(parts.path)
    if own and files.exists(own.group(1)):
        stored = files.get(own.group(1))
        assert stored is not None
        return stored[0]
    if not is_loopback_url(url):
        raise InputRejected(422, f"Could not download from URL (not reachable): {url[:200]}")
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InputRejected(422, f"Could not download from URL: HTTP {response.status_code}")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_FETCH_BYTES:
                        raise InputRejected(413, "Downloaded file is too large")
                    chunks.append(chunk)
                return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise InputRejected(422, f"Could not download from URL: {type(exc).__name__}") from exc


def looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


async def load_image(files: FileStore, value: str) -> tuple[bytes, DecodedImage]:
    data = await fetch_url(files, value) if looks_like_url(value) else decode_base64(value)
    try:
        return data, inspect_image(data)
    except ImageRejected as exc:
        raise InputRejected(exc.status, exc.message) from exc


def store_image(files: FileStore, data: bytes, decoded: DecodedImage, name: str) -> PendingImage:
    file_id = files.put(data, decoded.media_type)
    thumb_id = files.put_lazy(lambda: render_thumbnail(data), "image/jpeg")
    return PendingImage(name, file_id, thumb_id, decoded.sha256, decoded.width, decoded.height)


@dataclass
class ZipResult:
    entries: list[BulkEntry]
    fatal: str | None = None


def _unsafe_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or bool(re.match(r"^[A-Za-z]:", name))


def parse_zip(files: FileStore, data: bytes) -> ZipResult:
    """Read every entry in memory with hard caps: zip bombs, zip-slip, symlinks, >5000 entries."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return ZipResult([], fatal=f"Invalid ZIP archive: {exc}")
    if len(infos) > MAX_ZIP_ENTRIES:
        return ZipResult([], fatal=f"ZIP has {len(infos)} entries; the maximum is {MAX_ZIP_ENTRIES}")
    declared = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if declared > MAX_TOTAL_UNCOMPRESSED or declared / packed > MAX_COMPRESSION_RATIO:
        return ZipResult([], fatal="ZIP refused: uncompressed size too large (zip bomb suspected)")
    entries: list[BulkEntry] = []
    inflated = 0
    for info in infos:
        name = info.filename
        if info.is_dir() or name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("."):
            continue
        if _unsafe_name(name):
            entries.append(BulkEntry(name, error_code=400, error_message="Unsafe path in archive"))
            continue
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            entries.append(BulkEntry(name, error_code=400, error_message="Symbolic links are not allowed"))
            continue
        try:
            with archive.open(info) as handle:
                blob = handle.read(MAX_ENTRY_BYTES + 1)  # never trust the declared size
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            entries.append(BulkEntry(name, error_code=415, error_message=f"Unreadable entry: {exc}"))
            continue
        inflated += len(blob)
        if len(blob) > MAX_ENTRY_BYTES or inflated > MAX_TOTAL_UNCOMPRESSED:
            return ZipResult([], fatal="ZIP refused: content inflates beyond limits (zip bomb suspected)")
        try:
            decoded = inspect_image(blob, full_decode=False)
        except ImageRejected as exc:
            entries.append(BulkEntry(name, error_code=exc.status, error_message=exc.message))
            continue
        if min(decoded.width, decoded.height) < 1024:
            entries.append(
                BulkEntry(
                    name,
                    error_code=412,
                    error_message=(
                        f"Image resolution too low: {decoded.width}x{decoded.height} (minimum 1024x1024)"
                    ),
                )
            )
            continue
        entries.append(BulkEntry(name, image=store_image(files, blob, decoded, PurePosixPath(name).name)))
    return ZipResult(entries)


def generated_zip(files: FileStore, zip_url: str) -> ZipResult:
    """A non-loopback zip_url cannot be fetched offline: pretend it held a deterministic image set."""
    digest = hashlib.sha256(zip_url.encode()).hexdigest()
    count = 20 + int(digest[:4], 16) % 41
    entries = []
    for n in range(count):
        key = f"bulk:{digest}:{n}"
        name = f"image_{n + 1:04d}.png"
        file_id = files.put_lazy(lambda k=key, c=name: render_image(k, c, 1024, 1024), "image/png")
        thumb_id = files.put_lazy(lambda f=file_id: render_thumbnail(files.get(f)[0]), "image/jpeg")  # type: ignore[index]
        sha = hashlib.sha256(key.encode()).hexdigest()
        entries.append(BulkEntry(name, image=PendingImage(name, file_id, thumb_id, sha, 1024, 1024)))
    return ZipResult(entries)
