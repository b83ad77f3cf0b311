"""``BriaClient``: one shared ``httpx.AsyncClient`` under typed resource namespaces."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

import httpx

from bria_api.governor import Governor
from bria_api.resources import Datasets, Generation, Images, Models, Projects
from bria_api.settings import BriaSettings
from bria_api.transport import Transport


class BriaClient:
    """Async client of Bria's Tailored Generation and image generation APIs.

    Example:
        async with BriaClient() as bria:            # BRIA_API_TOKEN / BRIA_BASE_URL from the environment
            job = await bria.generation.lite(prompt="a red bicycle", aspect_ratio="16:9")
            await bria.download(job.result.image_url, Path("bike.png"))
    """

    def __init__(
        self,
        settings: BriaSettings | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        governor: Governor | None = None,
    ) -> None:
        self.settings = settings or BriaSettings()
        self.transport = Transport(
            self.settings, http_client=http_client, sleep=sleep, rng=rng, governor=governor
        )
        self.projects = Projects(self.transport)
        self.datasets = Datasets(self.transport)
        self.images = Images(self.transport)
        self.models = Models(self.transport)
        self.generation = Generation(self.transport)

    def __repr__(self) -> str:
        return f"BriaClient(base_url={self.settings.base_url!r})"

    async def download(self, url: str, dest: Path | None = None) -> bytes:
        """Fetch a produced image or video; with ``dest``, written atomically."""
        return await self.transport.download(url, dest=dest)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> BriaClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
