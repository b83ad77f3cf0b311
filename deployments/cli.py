"""``bria-flows``: the command line. Imports stay inside commands so ``--help`` starts fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional  # noqa: UP035 - typer needs Optional on 3.11

import typer

app = typer.Typer(
    name="bria-flows",
    help="Bria Tailored Generation as Prefect 3 workflows, plus a local Bria emulator.",
    no_args_is_help=True,
    add_completion=False,
)

TokenFile = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--token-file",
        help="Read the Bria API token from this file (tokens are never taken as a flag value).",
        exists=True,
        dir_okay=False,
    ),
]
TokenStdin = Annotated[
    bool, typer.Option("--token-stdin", help="Read the Bria API token from standard input.")
]


webhooks_app = typer.Typer(help="Receive Bria's job webhooks as Prefect events.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


def main() -> None:
    app()


@app.command()
def deploy(
    work_pool: Annotated[str, typer.Option(help="Process work pool to create/use.")] = "bria-process",
    requests_per_minute: Annotated[
        int, typer.Option(help="Bria plan budget for the token's shared 'bria-api-<fingerprint>' limit.")
    ] = 60,
) -> None:
    """Create every deployment (with schedules), the work pool, the block type, the rate limit and automations."""
    from deployments.deploy import deploy_all

    for name in deploy_all(work_pool, requests_per_minute):
        typer.echo(f"deployed {name}")
    typer.echo(f"next: prefect worker start --pool {work_pool}")


@webhooks_app.command("serve")
def webhooks_serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    tolerance: Annotated[float, typer.Option(help="Accepted clock skew of deliveries, seconds.")] = 300.0,
    token_file: TokenFile = None,
    token_stdin: TokenStdin = False,
) -> None:
    """Verify Bria's signed deliveries at /bria/webhook and post each as a Prefect event."""
    from bria_api import BriaSettings, WebhookVerifier
    from deployments.webhooks import WEBHOOK_PATH, serve

    token = _read_token(token_file, token_stdin)
    secret = token or BriaSettings().require_token().get_secret_value()  # the signing key is the API token
    typer.echo(f"webhook receiver on http://{host}:{port}{WEBHOOK_PATH}", err=True)
    serve(host, port, WebhookVerifier(secret, tolerance_seconds=tolerance))


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to bind (keep it on loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    api_token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Token the emulator accepts (an emulator token, not a Bria secret)."),
    ] = None,
    time_scale: Annotated[
        float, typer.Option(help="Emulated seconds per real second (3600: 6 h in 6 s).")
    ] = 1.0,
    faults: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Fault profile: JSON text or @path.json (see README)."),
    ] = None,
) -> None:
    """Run the local Bria emulator (all /v1 and /v2 operations, admin under /_emulator)."""
    from bria_emulator.config import EmulatorConfig
    from bria_emulator.faults import FaultProfile
    from bria_emulator.server import serve

    config = EmulatorConfig(api_token=api_token, time_scale=time_scale)
    if faults:
        config = config.model_copy(update={"faults": FaultProfile.parse_spec(faults)})
    typer.echo(
        f"Bria emulator on http://{host}:{port} (time scale x{time_scale:g}); inference.sh's task API at "
        f"http://{host}:{port}/inferencesh (key: INFERENCE_API_KEY, else inf-emulator-key); Ctrl-C to stop",
        err=True,
    )
    serve(config, host, port)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where images and sidecars go.")] = Path("bria-output"),
    images_dir: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--images", help="Your own image folder (default: a synthetic brand dataset)."),
    ] = None,
    token_file: TokenFile = None,
    token_stdin: TokenStdin = False,
) -> None:
    """Run the whole lifecycle (prepare → train → generate) against an embedded emulator, or real Bria when
    BRIA_API_TOKEN / BRIA_BASE_URL are set."""
    from deployments._demo import run_demo

    code = run_demo(out=out, images_dir=images_dir, token=_read_token(token_file, token_stdin))
    raise typer.Exit(code)


@app.command()
def lint(
    folder: Annotated[
        Path, typer.Argument(help="Folder of images, or the bulk ZIP of an advanced dataset, to check first.")
    ],
    upload_type: Annotated[
        str, typer.Option(help="basic (5-200 images) or advanced (up to 5000, >=1024 px).")
    ] = "basic",
    no_upscale: Annotated[
        bool, typer.Option("--no-upscale", help="Images must be >=1024 px (increase_resolution off).")
    ] = False,
) -> None:
    """Check a folder (or a bulk ZIP) against Bria's dataset rules; no API call, no credit. Exit 1 on errors."""
    from rich.console import Console

    from bria_api.lint import LintRules, lint_folder, render_table
    from bria_api.ziplint import lint_zip

    if folder.suffix.lower() == ".zip" and not folder.is_dir():
        report = lint_zip(folder)  # advanced datasets: read in place, never extracted
    else:
        report = lint_folder(folder, LintRules(upload_type=upload_type, increase_resolution=not no_upscale))
    console = Console()
    console.print(render_table(report))
    console.print(report.summary())
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def train(
    images_dir: Annotated[Path, typer.Argument(help="Folder of 5-200 brand images.")],
    project: Annotated[str, typer.Option(help="Project name (re-runs re-attach to it).")],
    dataset: Annotated[str, typer.Option(help="Dataset name within the project.")],
    model: Annotated[str, typer.Option(help="Model name.")],
    ip_medium: Annotated[str, typer.Option(help="photography or illustration.")] = "photography",
    ip_type: Annotated[str, typer.Option(help="other, stylized_scene, defined_character, ...")] = "other",
    mode: Annotated[str, typer.Option(help="fully_automated or expert.")] = "fully_automated",
    token_file: TokenFile = None,
    token_stdin: TokenStdin = False,
) -> None:
    """Lint, upload and caption the folder, then train a tailored model and wait for it (progress bars)."""
    _use_token(_read_token(token_file, token_stdin))
    from flows.dataset import prepare_dataset
    from flows.params import DatasetParams, ProjectParams, TrainingParams
    from flows.training import train_model

    async def run() -> object:
        prepared = await prepare_dataset(
            ProjectParams(project_name=project, ip_medium=ip_medium, ip_type=ip_type),
            DatasetParams(name=dataset, images_dir=images_dir),
        )
        return await train_model(
            prepared.project_id, prepared.dataset_id, TrainingParams(model_name=model, training_mode=mode)
        )

    trained = _run_with_progress(run)
    typer.echo(f"model {trained.id}: {getattr(trained.status, 'value', trained.status)}")


@app.command()
def generate(
    model_id: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--model-id", help="Tailored model id (omit with --lite)."),
    ] = None,
    prompt: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--prompt", "-p", help="A prompt (repeatable)."),
    ] = None,
    prompts_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="File of prompts: JSON list, JSON lines or one per line."),
    ] = None,
    lite: Annotated[bool, typer.Option("--lite", help="FIBO Lite instead of a tailored model.")] = False,
    backend: Annotated[
        str,
        typer.Option(
            help="--lite only: bria (native endpoint) or inferencesh (inference.sh's bria/generate-lite; "
            "key from INFERENCE_API_KEY)."
        ),
    ] = "bria",
    num_images: Annotated[int, typer.Option(help="--lite only: number of images.")] = 1,
    seed: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="--lite only: seed of the first image."),
    ] = None,
    reference_image: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--reference-image", help="--lite only: a local path or URL (repeatable)."),
    ] = None,
    aspect_ratio: Annotated[str, typer.Option(help="1:1, 16:9, 9:16, 4:3, ...")] = "1:1",
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("bria-output"),
    budget: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            help="Tailored only: most estimated spend of new images (needs BRIA_PRICE_TAILORED_IMAGE)."
        ),
    ] = None,
    max_images: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Tailored only: most new images submitted (saved ones are free)."),
    ] = None,
    token_file: TokenFile = None,
    token_stdin: TokenStdin = False,
) -> None:
    """Generate images (tailored model or FIBO Lite) into a folder, each with a JSON sidecar."""
    _use_token(_read_token(token_file, token_stdin))
    if lite:
        from flows.generation import generate_lite

        if not prompt or len(prompt) != 1:
            raise typer.BadParameter("--lite takes exactly one --prompt")
        if backend not in ("bria", "inferencesh"):
            raise typer.BadParameter("--backend is bria or inferencesh")

        async def run() -> object:
            return await generate_lite(
                prompt=prompt[0],
                reference_images=reference_image,
                num_images=num_images,
                aspect_ratio=aspect_ratio,
                seed=seed,
                out_dir=out,
                backend=backend,
            )
    else:
        if model_id is None:
            raise typer.BadParameter("give --model-id, or --lite")
        from flows.generation import generate_images
        from flows.params import PromptSpec

        async def run() -> object:
            specs = [PromptSpec(prompt=p) for p in prompt or []]
            return await generate_images(
                model_id,
                specs or None,
                prompts_file=prompts_file,
                out_dir=out,
                aspect_ratio=aspect_ratio,
                budget=budget,
                max_images=max_images,
            )

    files = _run_with_progress(run)
    for f in files:
        typer.echo(str(f.path))


def _use_token(token: str | None) -> None:
    import os

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # offline machines: no telemetry noise
    if token:
        os.environ["BRIA_API_TOKEN"] = token  # this process only; never a flow parameter or an argument


def _run_with_progress(make_coro):  # type: ignore[no-untyped-def]
    import asyncio

    from bria_api import BriaError
    from bria_api.pricing import UnknownPriceError
    from deployments._progress_ui import progress_bars

    try:
        with progress_bars():
            return asyncio.run(make_coro())
    except (BriaError, UnknownPriceError) as exc:
        typer.echo(f"failed: {exc}", err=True)
        raise typer.Exit(1) from None


def _read_token(token_file: Path | None, token_stdin: bool) -> str | None:
    if token_file is not None:
        return token_file.read_text().strip() or None
    if token_stdin:
        return sys.stdin.readline().strip() or None
    return None


if __name__ == "__main__":  # pragma: no cover
    main()
