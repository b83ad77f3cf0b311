"""Cross-run locks around find-or-create: one Prefect global concurrency limit (limit 1) per resource key.

Bria has no idempotency keys, so two identical runs started together (a double click, overlapping schedules)
would both find no project and both create one, both upload the same images, both start a training.
``resource_lock("dataset", project, dataset)`` serializes such sections across processes and machines (the
lock lives in the Prefect server); the run that waited then finds what the first one made and adopts it.

A holder killed outright (kill -9, OOM) keeps its lease until it expires: 60 s, Prefect's minimum, plus the
server's repossessor pass (15 s). Waiters on the same machine need not wait for that: every holder records its
host, pid namespace and pid in a Prefect Variable named like the lock, and a waiter that finds that process
gone releases the dead holder's lease at once (by lease id, so a live holder's lease is never touched).

The server must keep leases across its own restarts (``PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE=
prefect.server.concurrency.lease_storage.filesystem``): the default in-memory storage forgets them, and a
slot whose lease is forgotten stays taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import httpx
from prefect import runtime
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.logging import get_logger
from prefect.variables import Variable

LEASE_SECONDS = 60.0  # the shortest lease Prefect grants: bounds how long a dead remote holder blocks others
_RENEW_EVERY = LEASE_SECONDS / 3
_POLL_CAP = 2.0  # re-ask at least this often while waiting (the server's Retry-After can say 30 s)


def lock_name(kind: str, *parts: object) -> str:
    """``bria-lock-<kind>-<readable slug>-<hash>``: a valid limit and Variable name, unique per key."""
    digest = hashlib.sha256("\x1f".join([kind, *map(str, parts)]).encode()).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(map(str, parts)).lower()).strip("-")[:60]
    return "-".join(p for p in ("bria-lock", kind, slug, digest) if p)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run
        return get_logger("bria.locks")


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _this_process() -> dict[str, object]:
    return {"host": socket.gethostname(), "pidns": _pid_namespace(), "pid": os.getpid()}


def _process_gone(holder: dict) -> bool:
    """True only when the holder provably ran here and its process no longer exists (a zombie counts as gone)."""
    if holder.get("host") != socket.gethostname() or holder.get("pidns") != _pid_namespace():
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # killed but not yet reaped by its parent
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


_KNOWN_LIMITS: set[tuple[str, str]] = set()  # (API URL, lock name) this process has seen exist


async def _ensure_limit(client: PrefectClient, name: str) -> None:
    # A missing limit limits nothing (strict acquisition aside), so create it before the first acquisition.
    key = (str(client.api_url), name)
    if key in _KNOWN_LIMITS:  # one read saved per lock on a run's critical path
        return
    try:
        await client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        with contextlib.suppress(ObjectAlreadyExists):  # a twin run created it first
            await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    _KNOWN_LIMITS.add(key)


def _holder() -> ConcurrencyLeaseHolder | None:
    run_id = runtime.flow_run.id
    return ConcurrencyLeaseHolder(type="flow_run", id=UUID(str(run_id))) if run_id else None


async def _break_if_holder_gone(client: PrefectClient, name: str, broken: set[str]) -> bool:
    record = await Variable.aget(name, default=None)
    if not isinstance(record, dict) or record.get("lease_id") in broken or not _process_gone(record):
        return False
    broken.add(record["lease_id"])
    await client.release_concurrency_slots_with_lease(UUID(record["lease_id"]))
    _logger().warning(
        "lock %s: its holder (pid %s on this machine, run %s) is gone; released its lease",
        name,
        record.get("pid"),
        record.get("flow_run_id"),
    )
    return True


async def _acquire(client: PrefectClient, name: str, timeout_seconds: float | None) -> UUID:
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    broken: set[str] = set()
    said_waiting = recreated = False
    while True:
        try:
            response = await client.increment_concurrency_slots_with_lease(
                [name], 1, "concurrency", LEASE_SECONDS, _holder()
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 423:  # 423 Locked: someone holds it
                raise
            wait = min(float(exc.response.headers.get("Retry-After", 1.0)), _POLL_CAP)
        else:
            body = response.json()
            if body.get("limits"):
                return UUID(body["lease_id"])
            # the limit was deleted since this process saw it (by hand, or a server reset): create it again, once
            if recreated:
                raise RuntimeError(f"lock {name}: its concurrency limit was deleted while in use")
            recreated = True
            _KNOWN_LIMITS.discard((str(client.api_url), name))
            await _ensure_limit(client, name)
            continue
        if await _break_if_holder_gone(client, name, broken):
            continue
        if not said_waiting:
            said_waiting = True
            _logger().info("waiting for lock %s: another run holds it", name)
        if deadline is not None and time.monotonic() + wait > deadline:
            raise TimeoutError(f"lock {name} still held after {timeout_seconds} s")
        await asyncio.sleep(wait)


async def _keep_renewed(client: PrefectClient, name: str, lease_id: UUID) -> None:
    while True:
        await asyncio.sleep(_RENEW_EVERY)
        try:
            await client.renew_concurrency_lease(lease_id, LEASE_SECONDS)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 410:  # expired while the server was away, or forgotten
                _logger().error(
                    "lock %s: the server no longer knows its lease (down longer than %.0f s, or restarted with "
                    "in-memory lease storage: set PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE="
                    "prefect.server.concurrency.lease_storage.filesystem); carrying on without the lock",
                    name,
                    LEASE_SECONDS,
                )
                return
            _logger().warning("lock %s: lease renewal failed (%s); retrying", name, exc)
        except Exception as exc:  # noqa: BLE001 - keep working; the next renewal may succeed
            _logger().warning("lock %s: lease renewal failed (%s); retrying", name, exc)


@contextlib.asynccontextmanager
async def resource_lock(
    kind: str, *parts: object, timeout_seconds: float | None = None
) -> AsyncIterator[str]:
    """Hold the cross-run lock of one resource key (e.g. ``"project", name``); yields the lock name."""
    name = lock_name(kind, *parts)
    async with get_client() as client:
        await _ensure_limit(client, name)
        lease_id = await _acquire(client, name, timeout_seconds)
        record = {**_this_process(), "lease_id": str(lease_id), "flow_run_id": str(runtime.flow_run.id or "")}
        renewer = asyncio.create_task(_keep_renewed(client, name, lease_id))
        try:
            # Before any work: a kill -9 during the work must leave the record its waiters need.
            await Variable.aset(name, record, overwrite=True)
            yield name
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            with contextlib.suppress(Exception):  # only the holder writes it: no one else can race us here
                await Variable.aunset(name)
            await client.release_concurrency_slots_with_lease(lease_id)
