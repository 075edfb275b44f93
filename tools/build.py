"""Build entry point (not shipped): `python tools/build.py stage|vsix|docs [options]`.

- stage: build the pytask wheel and lay out build/extension/ (version stamped everywhere)
- vsix:  stage, then package it with tfx-cli into dist/*.vsix
- docs:  regenerate docs/tasks/<Task>.md from task.json; `--check` only reports drift
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import package
import taskdocs


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/build.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("stage", "vsix"):
        sub = commands.add_parser(name)
        sub.add_argument(
            "--publisher",
            help="Marketplace publisher id stamped into the manifest (default: the manifest's)",
        )
        sub.add_argument("--stage-dir", type=Path, default=package.STAGE, help="staging folder")
    commands.choices["vsix"].add_argument(
        "--dist-dir", type=Path, default=package.DIST, help="where the .vsix is written"
    )
    docs = commands.add_parser("docs")
    docs.add_argument("--check", action="store_true", help="fail if the docs are out of date")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "stage":
        package.stage(args.publisher, args.stage_dir.resolve())
    elif args.command == "vsix":
        package.vsix(args.publisher, args.stage_dir.resolve(), args.dist_dir.resolve())
    else:
        return taskdocs.check() if args.check else taskdocs.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
