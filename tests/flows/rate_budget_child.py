"""One of the processes sharing a token's request budget (tests/flows/test_rate_budget.py).

It runs a flow whose task lists one kind of Bria resource ``count`` times at once, but only after the test
writes a line to its stdin: the processes start together however long each took to import Prefect.
"""

from __future__ import annotations

import asyncio
import sys

from prefect import flow, task

from tasks._common import bria_client


@task
async def list_many(kind: str, count: int) -> int:
    async with bria_client(None) as bria:
        listing = getattr(bria, kind).list
        await asyncio.gather(*(listing() for _ in range(count)))
    return count


@flow
async def spend_budget(kind: str, count: int) -> int:
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    return await list_many(kind, count)


if __name__ == "__main__":
    asyncio.run(spend_budget(sys.argv[1], int(sys.argv[2])))
