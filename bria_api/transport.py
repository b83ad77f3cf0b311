"""The one HTTP path of the client: auth, deadlines, classification, retries and the rate governor.

Retries are tenacity's loop; this module only decides *whether* a failure may be retried (by operation kind
and by what the failure says about the server's state) and *how long* to wait (Retry-After, else full jitter).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_before_delay,
)

from bria_api.errors import (
    Applied,
    BriaConnectError,
    BriaConnectionLostError,
    BriaError,
    BriaResponseError,
    BriaTimeoutError,
    RateLimitedError,
    error_from_response,
)
from bria_api.governor import Governor, governor_for
from bria_api.operations import Kind, Operation
from bria_api.redaction import register_secret, scrub
from bria_api.settings import BriaSettings

log = logging.getLogger("bria_api.transport")
T = TypeVar("T")

_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
_RATE_LIMIT_BASE = 2.0
_RATE_LIMIT_CAP = 60.0
_LAST_TRY_AT = 0.98  # backoff never sleeps past this share of the budget: the last try lands inside it


class Transport:
    """Owns the shared ``httpx.AsyncClient``; one per client, used from one event loop."""

    def __init__(
        self,
        settings: BriaSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        governor: Governor | None = None,
    ) -> None:
        token = settings.require_token().get_secret_value()
        register_secret(token)
        self.settings = settings
        self._token = token
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._governor = governor
        self._semaphore: asyncio.Semaphore | None = None
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.write_timeout,
                pool=settings.pool_timeout,
            ),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency * 2,
                max_keepalive_connections=settings.max_concurrency,
            ),
            http2=settings.http2,
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
            follow_redirects=False,  # a redirect must never carry the token to another host
        )

    async def sleep(self, seconds: float) -> None:
        """The injectable sleep (tests pass a fake one, so polling never really waits)."""
        await self._sleep(seconds)

    def __repr__(self) -> str:  # no token, no headers
        return f"Transport(base_url={self.settings.base_url!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- public -------------------------------------------------------------------------------------

    async def call(
        self,
        op: Operation,
        *,
        path: dict[str, Any] | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        parse: Callable[[httpx.Response], T] | None = None,
        budget: float | None = None,
    ) -> T | httpx.Response:
        """Send one operation, retrying as its kind allows; ``parse`` runs inside the retry loop so a
        garbled answer to a read is retried like any other transient failure."""
        url = self.settings.base_url + op.url(**(path or {}))
        budget = budget or self.settings.operation_budget
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries + 1)
            | stop_after_delay(budget * _LAST_TRY_AT)
            | stop_before_delay(budget),  # a Retry-After that ends past the budget: surface it now
            wait=lambda state: self._wait(state, budget),
            retry=retry_if_exception(lambda exc: self._should_retry(op, exc)),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(op, state),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await self._send(op.id, op.method, url, json=json, params=params, auth=True)
                return parse(response) if parse else response
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    async def download(
        self, url: str, *, dest: Path | None = None, max_bytes: int = 200 * 1024 * 1024
    ) -> bytes:
        """GET a produced asset (image/video URL). The token is sent only to Bria's own host."""
        auth = httpx.URL(url).host == httpx.URL(self.settings.base_url).host and "/_emulator/" not in url
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries + 1)
            | stop_before_delay(self.settings.operation_budget),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, BriaError) and exc.transient),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await self._send("download", "GET", url, auth=auth)
                data = response.content
                if len(data) > max_bytes:
                    raise BriaResponseError(f"download larger than {max_bytes} bytes", operation="download")
                if dest is not None:
                    tmp = dest.with_name(dest.name + ".part")
                    tmp.write_bytes(data)
                    tmp.replace(dest)  # atomic: a crash never leaves a half-written image under the real name
                return data
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one attempt --------------------------------------------------------------------------------

    async def _send(
        self, op_id: str, method: str, url: str, *, json: Any = None, params: Any = None, auth: bool
    ) -> httpx.Response:
        governor = self._governor or governor_for(self._token, self.settings.requests_per_minute)
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrency)
        headers = {"api_token": self._token} if auth else {}
        async with self._semaphore:
            if auth:  # inside the semaphore: a request queued behind it must still see a Retry-After pause
                await governor.acquire()
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.settings.request_deadline):
                    response = await self._http.request(
                        method, url, json=json, params=params, headers=headers
                    )
            except TimeoutError:
                raise BriaTimeoutError(
                    f"no complete response within the {self.settings.request_deadline:g}s deadline",
                    operation=op_id,
                ) from None
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise BriaConnectError(f"could not connect: {type(exc).__name__}", operation=op_id) from None
            except httpx.TimeoutException as exc:
                raise BriaTimeoutError(f"timed out: {type(exc).__name__}", operation=op_id) from None
            except (httpx.RemoteProtocolError, httpx.NetworkError) as exc:
                raise BriaConnectionLostError(
                    f"connection lost after sending: {type(exc).__name__}", operation=op_id
                ) from None
        elapsed = time.monotonic() - started
        # httpx's network stream points back at the response: a cycle that keeps the request (a multi-MB
        # base64 upload body) alive until a GC pass. The body is read, so swap in a plain byte stream.
        response.stream = httpx.ByteStream(response.content)
        rid = response.headers.get("x-request-id", "-")
        log.debug(
            "%s %s -> %s in %.2fs (request id %s)",
            method,
            httpx.URL(url).path,
            response.status_code,
            elapsed,
            rid,
        )
        if response.status_code == 429 and auth:
            retry_after = error_from_response(response).retry_after
            # over the cap the call surfaces instead of waiting, and must not hold every other caller either
            governor.on_rate_limited(
                retry_after if (retry_after or 0) <= self.settings.retry_after_cap else None
            )
        elif response.status_code < 400 and auth:
            governor.on_success()
        if response.is_error:
            err = error_from_response(response, operation=op_id)
            err.args = (scrub(str(err)),)
            err.message = scrub(err.message)
            raise err
        return response

    # -- retry policy -------------------------------------------------------------------------------

    def _should_retry(self, op: Operation, exc: BaseException) -> bool:
        if not isinstance(exc, BriaError) or not exc.transient:
            return False  # 4xx validation/auth/conflict and local bugs are final
        if isinstance(exc, RateLimitedError) and (exc.retry_after or 0) > self.settings.retry_after_cap:
            return False  # surfacing beats sleeping in a worker for minutes
        if op.kind in (Kind.READ, Kind.WRITE):
            return True
        if op.kind is Kind.ONCE:
            return isinstance(exc, BriaConnectError)
        return exc.applied is Applied.NO

    def _wait(self, state: RetryCallState, budget: float | None = None) -> float:
        exc = state.outcome.exception() if state.outcome else None
        attempt = state.attempt_number
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # never earlier (a small jitter after a 429 spreads the callers)
            return retry_after + (
                self._rng.uniform(0, 0.1 + retry_after * 0.1) if isinstance(exc, RateLimitedError) else 0.0
            )
        if isinstance(exc, RateLimitedError):
            delay = self._rng.uniform(0, min(_RATE_LIMIT_CAP, _RATE_LIMIT_BASE * 2**attempt))
        else:
            delay = self._rng.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))  # full jitter
        if budget is None:
            return delay
        # our own backoff may be shortened so that the budget is used to its end rather than abandoned early
        return max(0.0, min(delay, budget * _LAST_TRY_AT - state.seconds_since_start))

    @staticmethod
    def _log_retry(op: Operation, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("retrying %s after %s (attempt %d) in %.1fs", op.id, exc, state.attempt_number, delay)
