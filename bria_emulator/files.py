"""In-memory file store behind GET /_emulator/files/{file_id} (a CDN stand-in, no auth)."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class StoredFile:
    media_type: str
    data: bytes | None = None  # uploaded bytes are kept as-is
    producer: Callable[[], bytes] | None = None  # generated files are rendered lazily


class FileStore:
    """Keeps uploaded bytes; renders generated files on first GET and caches a bounded number."""

    def __init__(self, cache_size: int = 128) -> None:
        self._files: dict[str, StoredFile] = {}
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def put(self, data: bytes, media_type: str, file_id: str | None = None) -> str:
        file_id = file_id or uuid.uuid4().hex
        with self._lock:
            self._files[file_id] = StoredFile(media_type, data=data)
        return file_id

    def put_lazy(self, producer: Callable[[], bytes], media_type: str, file_id: str | None = None) -> str:
        file_id = file_id or uuid.uuid4().hex
        with self._lock:
            self._files.setdefault(file_id, StoredFile(media_type, producer=producer))
        return file_id

    def get(self, file_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                return None
            if stored.data is not None:
                return stored.data, stored.media_type
            cached = self._cache.get(file_id)
            if cached is not None:
                self._cache.move_to_end(file_id)
                return cached, stored.media_type
        assert stored.producer is not None
        data = stored.producer()  # render outside the lock
        with self._lock:
            self._cache[file_id] = data
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return data, stored.media_type

    def exists(self, file_id: str) -> bool:
        with self._lock:
            return file_id in self._files

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._cache.clear()
