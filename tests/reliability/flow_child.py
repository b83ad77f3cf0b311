"""One flow run in its own process, for the rows that kill a run or start two at once.

``python -m tests.reliability.flow_child`` imports everything, then reads one JSON line from stdin (so a test
can start it early and hide the import time): ``{"flow": "prepare" | "lifecycle", "parameters": {...},
"retry_run_id": "<uuid>" (optional)}``. It creates the flow run (or, with ``retry_run_id``, puts that
run back to Scheduled and runs it again under the same id, as the UI's Retry does), prints ``flow-run <id>``,
runs it and prints ``result <json>``. Bria and Prefect settings come from the environment.
"""

from __future__ import annotations

import asyncio
import json
import sys

from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow_async
from prefect.states import Scheduled

from flows.dataset import prepare_dataset
from flows.lifecycle import tailored_lifecycle

FLOWS = {"prepare": prepare_dataset, "lifecycle": tailored_lifecycle}


async def run(spec: dict) -> object:
    flow = FLOWS[spec["flow"]]
    async with get_client() as client:
        if spec.get("retry_run_id"):
            await client.set_flow_run_state(spec["retry_run_id"], Scheduled(name="AwaitingRetry"), force=True)
            flow_run = await client.read_flow_run(spec["retry_run_id"])
        else:
            flow_run = await client.create_flow_run(flow, parameters=spec["parameters"])
    print(f"flow-run {flow_run.id}", flush=True)
    return await run_flow_async(flow, flow_run=flow_run, parameters=flow_run.parameters)


def main() -> None:
    spec = sys.stdin.readline()
    if not spec.strip():
        return  # the test did not need this process after all
    result = asyncio.run(run(json.loads(spec)))
    print(f"result {result.model_dump_json()}", flush=True)


if __name__ == "__main__":
    main()
