"""`pytask sandbox ...` sub-commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytask sandbox", description="The local Azure cloud.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox in the foreground")
    serve.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    serve.add_argument("--state", type=Path, required=True, help="state directory")
    serve.add_argument("--ready-file", type=Path, required=True, help="written when ready")
    serve.add_argument("--seed", type=Path, help="world to create on first start (YAML)")
    serve.add_argument("--faults", type=Path, help="fault rules (YAML), re-read on change")
    serve.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply operation durations by this"
    )
    serve.add_argument("--page-size", type=int, default=100, help="items per list page")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        if args.time_scale < 0:
            print("pytask sandbox: --time-scale must be >= 0", file=sys.stderr)
            return 2
        from pytask.sandbox.core.errors import ArmError
        from pytask.sandbox.core.faults import FaultConfigError
        from pytask.sandbox.core.seed import SeedError
        from pytask.sandbox.server import ServeOptions, serve

        options = ServeOptions(
            port=args.port,
            state_dir=args.state,
            ready_file=args.ready_file,
            seed=args.seed,
            faults=args.faults,
            time_scale=args.time_scale,
            page_size=args.page_size,
        )
        try:
            return serve(options)
        except (FaultConfigError, SeedError, ArmError, OSError) as error:
            print(f"pytask sandbox: {error}", file=sys.stderr)
            return 2
    return 2
