"""Counters behind GET /_emulator/stats (what tests assert: attempts, duplicates, credits spent)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from typing import Any

from bria_emulator.state import Store

# Operations that spend Bria credits (counted when they succeed).
CREDIT_OPERATIONS = {
    "image-generate",
    "image-generate-lite",
    "structured-prompt-generate",
    "structured-prompt-generate-lite",
    "structured-prompt-generate-from-diff",
    "image-generate-tailored",
    "structured-prompt-generate-tailored",
    "generate-video-from-tailored-image",
    "start-training",
    "generate-visual-schema",
    "refine-json",
}
REQUEST_LOG_SIZE = 20_000  # recent requests kept for GET /_emulator/requests (timing assertions)
DROPPED = "dropped"  # by_status key when the client got no status line at all (connection cut)


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.by_status: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self.mutating_requests = 0
            self.credit_requests = 0
            self.trainings_started = 0
            self.faults_fired: Counter[str] = Counter()
            self.log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def record(
        self,
        operation_id: str,
        method: str,
        sent: int | None,
        committed: int | None,
        *,
        path: str = "",
        arrived: float | None = None,
        retry_after: str | None = None,
    ) -> None:
        """sent: status the client received (None = connection cut); committed: the handler's status.

        Credits follow `committed`: a commit_then_drop still spent the credit even though the client saw nothing.
        The request log keeps wall-clock arrival and answer times, so tests can check when a client came back.
        """
        key = DROPPED if sent is None else str(sent)
        with self._lock:
            self.log.append(
                {
                    "op": operation_id,
                    "method": method,
                    "path": path,
                    "arrived": arrived,
                    "answered": time.time(),
                    "status": sent,
                    "retry_after": retry_after,
                }
            )
            self.requests[operation_id] += 1
            self.by_status[operation_id][key] += 1
            if committed is not None and 200 <= committed < 300 and method in ("POST", "PUT", "DELETE"):
                if operation_id in CREDIT_OPERATIONS:
                    self.credit_requests += 1
                if operation_id == "start-training":
                    self.trainings_started += 1

    def authenticated(self, method: str) -> None:
        if method in ("POST", "PUT", "DELETE"):
            with self._lock:
                self.mutating_requests += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults_fired[kind] += 1

    def requests_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.log)

    def snapshot(self, store: Store) -> dict[str, Any]:
        with self._lock:
            operations = {
                op: {"requests": n, "by_status": dict(self.by_status[op])} for op, n in self.requests.items()
            }
            body: dict[str, Any] = {
                "operations": operations,
                "mutating_requests": self.mutating_requests,
                "credit_requests": self.credit_requests,
                "trainings_started": self.trainings_started,
                "faults_fired": dict(self.faults_fired),
            }
        body["resources"] = store.resource_counts()
        body["datasets"] = {
            str(ds.id): {
                "images": len(ds.image_ids),
                "duplicate_contents": ds.duplicate_contents,
                "bulk_attempts": ds.bulk_attempts,
            }
            for ds in list(store.datasets.values())
        }
        return body
