"""Reading Prefect events back: they reach the server asynchronously, so wait (bounded) for them."""

from __future__ import annotations

import asyncio

from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventResourceFilter


async def events_about(resource_id: str, want: set[str], timeout: float = 30.0, until=None) -> list:
    """Events whose resource is ``resource_id``, once all ``want`` names are among them and ``until(events)``
    holds (or the timeout). Emulator ids repeat across tests, so ``until`` can pick out this test's event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with get_client() as prefect:
        while True:
            page = await prefect.read_events(
                EventFilter(resource=EventResourceFilter(id=[resource_id])), limit=50
            )
            done = want <= {e.event for e in page.events} and (until is None or until(page.events))
            if done or loop.time() > deadline:
                return page.events
            await asyncio.sleep(0.5)
