"""Run the emulator: in a background thread for tests/embedding, or blocking for the CLI."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from bria_emulator.app import create_app
from bria_emulator.config import EmulatorConfig
from bria_emulator.faults import FaultProfile


def _uvicorn_config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    # No access log: it is noise here (and access logs never include headers, so never the token).
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


class EmulatorServer:
    """uvicorn in a daemon thread on a loopback port; context manager; sync admin helpers over HTTP.

    Example:
        with EmulatorServer(EmulatorConfig(time_scale=3600)) as emu:
            httpx.get(f"{emu.url}/v1/tailored-gen/projects", headers={"api_token": emu.token})
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.app = create_app(self.config)
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None  # admin helpers' client, created on first use

    @property
    def url(self) -> str:
        """Base URL without /v1 or /v2, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        return self.config.resolved_token()

    @property
    def inferencesh_url(self) -> str:
        """Base URL of the emulated inference.sh API (the SDK's ``base_url``)."""
        return f"{self.url}/inferencesh"

    @property
    def inference_api_key(self) -> str:
        """The Bearer key the emulated inference.sh API accepts (fixed when the app was built)."""
        return self.app.state.inference_api_key

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        if self._thread is not None:
            return self
        # Bind first so the port is known (port=0 -> a free one) before uvicorn starts.
        # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets (else +40 ms per response).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(_uvicorn_config(self.app, self.host, self.port, self._log_level))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"bria-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("Bria emulator failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._server = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- admin helpers (plain HTTP, like any other client of /_emulator) ---
    def _admin(self, method: str, path: str, json: Any = None) -> Any:
        if self._http is None:
            # No idle keep-alive connections: uvicorn closes them after 5 s, and a request sent just as it
            # does gets "connection reset" (seen on loaded machines). A fresh loopback connection costs ~nothing.
            self._http = httpx.Client(timeout=10.0, limits=httpx.Limits(max_keepalive_connections=0))
        response = self._http.request(method, f"{self.url}/_emulator/{path}", json=json)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._admin("GET", "stats")

    def requests(self) -> list[dict[str, Any]]:
        """Recent Bria requests with wall-clock arrival times (see GET /_emulator/requests)."""
        return self._admin("GET", "requests")

    def set_faults(self, profile: dict[str, Any] | FaultProfile) -> dict[str, Any]:
        body = profile.model_dump(mode="json") if isinstance(profile, FaultProfile) else profile
        return self._admin("POST", "faults", body)

    def faults(self) -> dict[str, Any]:
        return self._admin("GET", "faults")

    def reset(self) -> None:
        self._admin("POST", "reset")

    def release(self) -> int:
        """Release requests parked by `hold` faults; returns how many were parked."""
        return self._admin("POST", "release")["released"]

    def advance(self, seconds: float) -> dict[str, Any]:
        return self._admin("POST", "clock", {"advance_seconds": seconds})

    def webhooks(self) -> list[dict[str, Any]]:
        return self._admin("GET", "webhooks")

    # --- the emulated inference.sh API ---
    def inferencesh_tasks(self) -> list[dict[str, Any]]:
        return self._admin("GET", "inferencesh/tasks")

    def inferencesh_outcomes(self, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
        """How the next tasks end, e.g. [{"status": "failed", "error": "..."}, {"seconds": 3600}]."""
        return self._admin("POST", "inferencesh/outcomes", outcomes)

    def inferencesh_webhooks(self) -> list[dict[str, Any]]:
        return self._admin("GET", "inferencesh/webhooks")


def serve(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    log_level: str = "warning",
) -> None:
    """Blocking server for the CLI."""
    uvicorn.Server(_uvicorn_config(create_app(config), host, port, log_level)).run()
