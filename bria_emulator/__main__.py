"""CLI: python -m bria_emulator [--host] [--port] [--api-token-file] [--time-scale] [--faults SPEC]."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bria_emulator.config import EmulatorConfig
from bria_emulator.faults import FaultProfile
from bria_emulator.server import serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bria_emulator", description="Offline Bria API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    # Deliberately no --api-token flag: a token on the command line leaks through /proc/*/cmdline.
    parser.add_argument(
        "--api-token-file",
        type=Path,
        help="file holding the accepted api_token (default: env BRIA_API_TOKEN, else 'bria-emulator-token')",
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument("--training-seconds", type=float, default=None, help="emulated training duration")
    parser.add_argument("--generation-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--faults", help="fault profile: JSON text or @path.json (default: env BRIA_EMULATOR_FAULTS)"
    )
    parser.add_argument("--public-url", default=None, help="base URL used in status_url and file URLs")
    parser.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    token = args.api_token_file.read_text().strip() if args.api_token_file else None
    spec = args.faults or os.environ.get("BRIA_EMULATOR_FAULTS")
    config = EmulatorConfig(
        api_token=token or None,
        time_scale=args.time_scale,
        training_seconds=args.training_seconds,
        generation_seconds=args.generation_seconds,
        seed=args.seed,
        public_url=args.public_url,
        faults=FaultProfile.parse_spec(spec) if spec else FaultProfile(),
    )
    print(
        f"Bria emulator on http://{args.host}:{args.port} (v1 + v2; token from {config.token_source()}; "
        f"time scale {args.time_scale})",
        file=sys.stderr,
        flush=True,
    )
    serve(config, args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
