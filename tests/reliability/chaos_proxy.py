"""A small asyncio TCP chaos proxy: 127.0.0.1 traffic forwarded to the emulator, with network faults.

Modes (combinable, set per proxy; seeded):
- ``reset_after``: the first ``reset_connections`` connections are cut with a TCP RST, both ways, once the
  client has sent that many bytes upstream (a connection reset mid-upload);
- ``latency`` / ``jitter``: a burst of data in either direction that follows a quiet spell is held for
  latency ± jitter seconds (a latency spike per request and per response, not per TCP segment);
- ``bandwidth``: bytes per second per direction (a thin pipe);
- ``slice_bytes`` / ``slice_delay``: the upstream's answer is delivered in slices of that many bytes, that
  far apart (a slow-loris server, like toxiproxy's slicer).

It runs on its own event loop in a thread, like ``EmulatorServer``, so sync and async tests can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

_CHUNK = 16 * 1024
_QUIET = 0.05  # seconds without data that make the next chunk the start of a new message


@dataclass
class ChaosStats:
    connections: int = 0
    resets: int = 0
    bytes_up: int = 0  # client -> upstream, everything the client sent (also what a reset threw away)
    bytes_down: int = 0


@dataclass
class ChaosProxy:
    upstream_host: str
    upstream_port: int
    reset_after: int | None = None
    reset_connections: int = 1
    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: float | None = None
    slice_bytes: int | None = None
    slice_delay: float = 0.0
    seed: int = 0
    stats: ChaosStats = field(default_factory=ChaosStats)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> ChaosProxy:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        started.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._server is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- one connection -------------------------------------------------------------------------------

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            await self._relay(client_r, client_w)
        except asyncio.CancelledError:  # proxy shutdown; asyncio's stream callback must not see a cancel
            _abort(client_w)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        cut = self.reset_after is not None and self.stats.connections <= self.reset_connections
        try:
            upstream_r, upstream_w = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            _abort(client_w)
            return
        up = asyncio.create_task(self._pump(client_r, upstream_w, upstream=True, cut=cut))
        down = asyncio.create_task(self._pump(upstream_r, client_w, upstream=False, cut=False))
        done, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        if any(t.result() == "reset" for t in done):
            self.stats.resets += 1
            for w in (client_w, upstream_w):
                _abort(w)
        for task in pending:  # one side closed: let the other drain briefly, then close both
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, ConnectionError):
                await asyncio.wait_for(task, 30)
        for w in (client_w, upstream_w):
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool, cut: bool
    ) -> str:
        sent, last = 0, 0.0
        try:
            while chunk := await reader.read(_CHUNK):
                now = time.monotonic()
                if self.latency and now - last > _QUIET:
                    await asyncio.sleep(max(0.0, self.latency + self._rng.uniform(-self.jitter, self.jitter)))
                if cut and sent + len(chunk) > (self.reset_after or 0):
                    self.stats.bytes_up += len(chunk)
                    return "reset"
                await self._forward(chunk, writer, upstream)
                sent += len(chunk)
                last = time.monotonic()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            return "error"
        return "eof"

    async def _forward(self, chunk: bytes, writer: asyncio.StreamWriter, upstream: bool) -> None:
        if upstream:
            self.stats.bytes_up += len(chunk)
        else:
            self.stats.bytes_down += len(chunk)
        step = self.slice_bytes if (self.slice_bytes and not upstream) else len(chunk)
        for i in range(0, len(chunk), step):
            piece = chunk[i : i + step]
            writer.write(piece)
            await writer.drain()
            if self.bandwidth:
                await asyncio.sleep(len(piece) / self.bandwidth)
            if step < len(chunk) and self.slice_delay:
                await asyncio.sleep(self.slice_delay)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a RST (SO_LINGER 0), as a middlebox resetting the connection would."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
