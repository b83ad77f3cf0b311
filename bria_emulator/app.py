"""FastAPI application factory for the Bria emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from bria_emulator import (
    routes_admin,
    routes_datasets,
    routes_generation,
    routes_images,
    routes_inferencesh,
    routes_models,
    routes_projects,
)
from bria_emulator.config import EmulatorConfig
from bria_emulator.errors import install_error_handlers
from bria_emulator.middleware import EmulatorMiddleware
from bria_emulator.runtime import WEBHOOK_POLL_SECONDS, Runtime


class EmulatorApp(FastAPI):
    """FastAPI whose outermost layer is the emulator middleware.

    `add_middleware` would place it *inside* Starlette's ServerErrorMiddleware, where `send` is a closure;
    wrapping the built stack keeps uvicorn's own `send` (and thus the transport) reachable for faults.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return EmulatorMiddleware(super().build_middleware_stack(), self)


def create_app(config: EmulatorConfig | None = None) -> FastAPI:
    """Build an emulator app; state lives in `app.state.runtime` (one Runtime per app)."""
    config = config or EmulatorConfig()
    runtime = Runtime.from_config(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The only background work: webhook delivery (Bria's jobs, inference.sh tasks).
        tasks = app.state.inferencesh
        pumps = [
            asyncio.create_task(runtime.webhook_pump()),
            asyncio.create_task(tasks.pump(runtime.clock, WEBHOOK_POLL_SECONDS)),
        ]
        try:
            yield
        finally:
            for pump in pumps:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            await runtime.shutdown()
            await tasks.shutdown()

    app = EmulatorApp(
        title="Bria API emulator",
        version="1.0.0",
        description="Offline emulator of Bria's tailored-generation (v1), image-generation and status (v2) APIs.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (
        routes_projects,
        routes_datasets,
        routes_images,
        routes_models,
        routes_generation,
        routes_admin,
    ):
        app.include_router(module.router)
    app.include_router(routes_datasets.download_router)
    runtime.on_reset.append(routes_inferencesh.install(app, config.resolved_inference_key()).reset)
    return app


def operation_ids(app: FastAPI) -> list[str]:
    """Every Bria operationId served (handy for tests and README tables)."""
    ids: list[Any] = [
        op.get("operationId")
        for path, item in app.openapi()["paths"].items()
        if not path.startswith(routes_inferencesh.PREFIX)  # inference.sh's API, not Bria's
        for op in item.values()
    ]
    return [i for i in ids if i and not i.startswith("emulator-")]
