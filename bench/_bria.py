"""Benchmark fixtures on the emulator: a model in training, and a recorder of what reaches the server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from pydantic import SecretStr

from bench._common import TOKEN
from bench._images import jpeg
from bria_api import BriaClient, BriaSettings


def start_model_training(base_url: str) -> int:
    """Project, completed 5-image dataset, model, training started; returns the model id.

    Uses its own unpaced client: setup is not what is measured, and callers apply their caps afterwards.
    """

    async def main() -> int:
        settings = BriaSettings(api_token=SecretStr(TOKEN), base_url=base_url, requests_per_minute=100_000)
        async with BriaClient(settings) as bria:
            project = await bria.projects.create("bench", ip_medium="photography", ip_type="other")
            dataset = await bria.datasets.create(project.id, "bench")
            images = [jpeg(512, 512, seed=i) for i in range(5)]
            schema = await bria.datasets.generate_visual_schema(images)
            await bria.datasets.update(dataset.id, visual_schema=schema.visual_schema)
            for i, data in enumerate(images):
                await bria.images.upload(dataset.id, data, image_name=f"img-{i}.jpg")
            await bria.datasets.complete(dataset.id)
            model = await bria.models.create("bench model", dataset.id)
            await bria.models.start_training(model.id)
            return model.id

    return asyncio.run(main())


class Recorder:
    """ASGI wrapper around the emulator app: file downloads per id, and when each API answer was sent.

    It sits outside the emulator's own middleware, so it sees exactly what crossed the wire.
    """

    def __init__(self) -> None:
        self.downloads: Counter[str] = Counter()
        self.answers: list[tuple[float, int, str]] = []  # (monotonic time, status, path)

    def clear(self) -> None:
        self.downloads.clear()
        self.answers.clear()

    def wrap(self, app: Any) -> Any:
        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope["path"]
            if scope["method"] == "GET" and path.startswith("/_emulator/files/"):
                self.downloads[path.rsplit("/", 1)[1]] += 1
                await app(scope, receive, send)
                return
            if not path.startswith(("/v1/", "/v2/")):
                await app(scope, receive, send)
                return

            async def tracked(message: Any) -> None:
                if message["type"] == "http.response.start":
                    self.answers.append((time.monotonic(), message["status"], path))
                await send(message)

            await app(scope, receive, tracked)

        return recorded

    def max_in_window(self, seconds: float = 60.0, *, exclude_status: int = 429) -> int:
        """Most answers (other than ``exclude_status``) sent within any ``seconds``-long window."""
        times = sorted(t for t, status, _ in self.answers if status != exclude_status)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best
