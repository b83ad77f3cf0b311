"""Row 27: a canary token goes through a fault-injected lifecycle, a failing run and the CLI; then every sink
is searched for it (raw, URL-encoded, base64 at each alignment): logs, CLI output, process arguments, every
Prefect API collection (runs, parameters, states, logs, artifacts, variables, events, blocks), the Prefect
database file, result storage, the files the runs wrote, and the emulator's own records.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from bria_api import BriaError
from bria_emulator.config import EmulatorConfig
from bria_emulator.server import EmulatorServer
from deployments.cli import app as cli_app
from flows.dataset import prepare_dataset
from flows.lifecycle import tailored_lifecycle
from flows.params import DatasetParams, ProjectParams, PromptSpec, TrainingParams
from tasks.credentials import BriaCredentials
from tests.imagegen import distinct_images
from tests.reliability.figures import figure

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.slow,
]  # ~40 s: a lifecycle and a CLI run
CANARY = f"cnry+{uuid.uuid4().hex}/Zz="  # '+', '/' and '=' make the URL-encoded forms differ from the raw one


def forms(secret: str) -> dict[str, str]:
    """Every spelling of the secret a leak could take; base64 at the three byte alignments it can start at."""
    out = {"raw": secret, "url-encoded": quote(secret, safe=""), "form-encoded": quote_plus(secret)}
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + secret.encode()).decode()
        out[f"base64+{k}"] = encoded[(8 * k + 5) // 6 : -4]  # drop the characters shared with neighbours
    return out


def scan(sinks: dict[str, str | bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, content in sinks.items():
        text = content.decode("latin-1") if isinstance(content, bytes) else content
        hits = [form for form, value in forms(CANARY).items() if value in text]
        if hits:
            found[name] = hits
    return found


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken record must not hide the others
            self.lines.append(str(record.msg))


def _faults() -> dict:
    return {
        "seed": 27,
        "rules": [
            {"method": "GET", "kind": "status", "code": 503, "probability": 0.1},
            {"op": "create-project", "kind": "commit_then_drop", "times": 1},
            {"op": "upload-image", "kind": "status", "code": 500, "commit": True, "times": 1},
            {"kind": "status", "code": 429, "retry_after_ms": 50, "probability": 0.05},
            {"op": "get-model", "kind": "reset", "probability": 0.1},
        ],
    }


def _files(root: Path) -> bytes:
    if not root.exists():
        return b""
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _cmdlines() -> str:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                out.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("latin-1"))
            except OSError:
                pass  # gone, or not ours to read
    return "\n".join(out)


async def _prefect_api() -> dict[str, str]:
    """Every collection the API serves, as raw JSON text (what a UI user or API client would see)."""
    from prefect.client.orchestration import get_client

    out: dict[str, str] = {}
    async with get_client() as prefect:
        for name, path in (
            ("flow runs (parameters, states)", "/flow_runs/filter"),
            ("task runs (inputs, states)", "/task_runs/filter"),
            ("artifacts", "/artifacts/filter"),
            ("variables", "/variables/filter"),
            ("block documents", "/block_documents/filter"),
            ("deployments", "/deployments/filter"),
        ):
            body = {"limit": 200} | ({"include_secrets": False} if "block" in name else {})
            out[f"Prefect API {name}"] = (await prefect.request("POST", path, json=body)).text
        logs, offset = [], 0
        while page := (
            await prefect.request("POST", "/logs/filter", json={"limit": 200, "offset": offset})
        ).json():
            logs += page
            offset += len(page)
        out["Prefect API logs"] = json.dumps(logs)
        page = await prefect.read_events(limit=50)
        events = [page.model_dump_json()]
        while page.next_page and len(events) < 100:
            page = await prefect.read_events_page(str(page.next_page))
            events.append(page.model_dump_json())
        out["Prefect API events"] = "\n".join(events)
    return out


def _database_files() -> bytes:
    from prefect.settings import get_current_settings

    url = get_current_settings().server.database.connection_url.get_secret_value()
    db = Path(url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the db, its -wal and -shm


def test_the_cli_has_no_token_flag():
    """Row 27: no command takes a Bria token as a flag value (process arguments are world-readable)."""
    import typer.main

    command = typer.main.get_command(cli_app)
    options = set()
    for name, sub in command.commands.items():
        for group in [sub, *getattr(sub, "commands", {}).values()]:
            options |= {(name, opt) for p in group.params for opt in p.opts}
    flags = {opt for _, opt in options}
    assert "--token" not in flags and "--api-token" not in {o for c, o in options if c != "emulator"}
    assert {"--token-file", "--token-stdin"} <= flags  # the supported ways in


async def test_row27_a_canary_token_reaches_no_sink(tmp_path):
    """Row 27: after a faulted lifecycle, a failing run and a CLI run with a canary token, the token (raw,
    URL-encoded, base64) is found in 0 of the sinks; the block's secret comes back masked."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, get_current_settings

    assert len(scan({"control": " ".join(forms(CANARY).values())})["control"]) == len(forms(CANARY))
    collect = Collect()
    logging.getLogger().addHandler(collect)
    for name in ("httpx", "httpcore", "bria_api", "bria_emulator", "uvicorn"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    images = tmp_path / "brand"
    images.mkdir()
    for i, data in enumerate(distinct_images(5, size=320)):
        (images / f"img-{i}.png").write_bytes(data)
    config = EmulatorConfig(api_token=CANARY, time_scale=3600, training_seconds=1800, generation_seconds=0.0)
    cli_out, cmdlines, failure = "", [], ""
    try:
        with EmulatorServer(config) as emulator:
            await BriaCredentials(api_token=CANARY, base_url=emulator.url, requests_per_minute=100_000).save(
                "canary", overwrite=True
            )
            creds = await BriaCredentials.load("canary")
            emulator.set_faults(_faults())
            result = await tailored_lifecycle(
                ProjectParams(project_name="canary brand"),
                DatasetParams(name="v1", images_dir=images, caption_poll_seconds=0.05, schema_sample_size=5),
                TrainingParams(model_name="canary model", poll_initial_seconds=0.05, poll_max_seconds=0.2),
                samples=[PromptSpec(prompt="a mug", seed=1)],
                out_dir=tmp_path / "out",
                credentials=creds,
            )
            # a run that fails on an error body echoing the token (as a careless server might)
            emulator.set_faults(
                {
                    "rules": [
                        {
                            "op": "get-projects",
                            "kind": "status",
                            "code": 400,
                            "message": f"bad api_token {CANARY}",
                        }
                    ]
                }
            )
            with pytest.raises(BriaError) as info:
                await prepare_dataset(
                    ProjectParams(project_name="fails"), DatasetParams(name="x", images_dir=images), creds
                )
            failure = f"{info.value}\n{info.getrepr()}"
            emulator.set_faults({})
            token_file = tmp_path / "token"
            token_file.write_text(CANARY)
            env = {k: v for k, v in os.environ.items() if not k.startswith("BRIA_")}
            env |= {
                "BRIA_BASE_URL": emulator.url,
                "PREFECT_API_URL": PREFECT_API_URL.value(),
                "BRIA_REQUESTS_PER_MINUTE": "100000",
            }
            cli = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "deployments.cli",
                    "generate",
                    "--model-id",
                    str(result.model_id),
                    "-p",
                    "a cup",
                    "--token-file",
                    str(token_file),
                    "--out",
                    str(tmp_path / "cli-out"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            while cli.poll() is None:  # process arguments of everything running, while the CLI runs
                cmdlines.append(_cmdlines())
                time.sleep(0.2)
            cli_out = cli.stdout.read() if cli.stdout else ""
            assert cli.returncode == 0, cli_out[-2000:]
            admin = {
                "emulator stats": json.dumps(emulator.stats()),
                "emulator request log": json.dumps(emulator.requests()),
                "emulator webhooks": json.dumps(emulator.webhooks()),
                "emulator faults": json.dumps(emulator.faults()),
            }
    finally:
        logging.getLogger().removeHandler(collect)
    async with get_client() as prefect:
        block = await prefect.read_block_document_by_name("canary", "bria-credentials", include_secrets=False)
    storage = Path(get_current_settings().results.local_storage_path)
    sinks: dict[str, str | bytes] = {
        "logs of the test process (root, DEBUG: httpx, httpcore, bria_api, emulator, uvicorn)": "\n".join(
            collect.lines
        ),
        "CLI output": cli_out,
        "process arguments (/proc/*/cmdline) while the CLI ran": "\n".join(cmdlines + [_cmdlines()]),
        "exception text of the failed run": failure,
        **(await _prefect_api()),
        "Prefect database file": _database_files(),
        f"result storage ({storage})": _files(storage),
        "files the runs wrote (images, sidecars)": _files(tmp_path / "out") + _files(tmp_path / "cli-out"),
        **admin,
    }
    leaks = scan(sinks)
    sizes = {name: len(content) for name, content in sinks.items()}
    figure(
        27,
        f"canary in {len(leaks)} of {len(sinks)} sinks ({sum(sizes.values()) // 1024} KiB searched, "
        f"{len(forms(CANARY))} forms each); block secret through the API: {block.data['api_token']!r}; "
        f"lifecycle images {len(result.images)}, CLI exit {cli.returncode}",
    )
    assert not leaks, leaks
    assert block.data["api_token"] != CANARY and CANARY not in json.dumps(block.data)
    assert all(sizes[name] for name in sizes if not name.startswith("result storage")), (
        sizes
    )  # every sink was read
    assert "bad api_token [REDACTED]" in failure  # the server's message survives, scrubbed
