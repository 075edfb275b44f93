"""The demo's driver: stage the extension, start the seeded sandbox, run both releases, check
what happened, write the report."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytask.demo import world
from pytask.demo.agent import Agent
from pytask.demo.console import Console
from pytask.demo.expect import check_outcome
from pytask.demo.release import Release
from pytask.demo.report import write_report

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv or [])
    out = Console(verbose=args.verbose)
    if shutil.which("node") is None:
        out.fail("node is not on PATH: the tasks run on the agent's Node, so the demo needs it")
        return 1
    root = Path(args.work_dir or tempfile.mkdtemp(prefix="vmapp-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stage_dir = _stage(out, Path(args.stage_dir).resolve())
    out.title("Starting the sandbox (a local Azure) with the demo world")
    sandbox = world.start_sandbox(root)
    try:
        out.line(f"   ARM at {sandbox.ready['arm_url']}, state in {root / 'sandbox'}")
        sources = root / "s"
        packages = {
            v: world.write_package(sources / "dist", v) for v in (world.HEALTHY, world.UNHEALTHY)
        }
        agent = Agent(stage_dir, sandbox.ready_file, sources, root / "agent")
        release = Release(agent, sandbox, out.line, str(sandbox.ready["connection"]["id"]))
        runs = []
        for build_id, (version, package) in enumerate(packages.items(), start=101):
            out.title(f"Release {version} (build {build_id})")
            runs.append(release.run(version, build_id, str(package.relative_to(sources))))
        problems = check_outcome(runs, sandbox)
        seconds = time.monotonic() - started
        report = write_report(root / "report.html", runs, problems, seconds)
    finally:
        sandbox.stop()
    out.summary(runs, problems, seconds)
    out.line(f"\nReport: {report}")
    return 1 if problems else 0


def _stage(out: Console, stage_dir: Path) -> Path:
    out.title("Staging the extension (tools/build.py stage)")
    command = [
        sys.executable,
        str(REPO / "tools" / "build.py"),
        "stage",
        "--stage-dir",
        str(stage_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"staging failed:\n{done.stdout}\n{done.stderr}")
    out.line(
        f"   {stage_dir / 'tasks'}: "
        + ", ".join(sorted(p.name for p in (stage_dir / "tasks").iterdir()))
    )
    return stage_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytask demo", description=__doc__)
    parser.add_argument("--work-dir", help="where the sandbox state, agent folders and report go")
    parser.add_argument("--stage-dir", default=str(REPO / "build" / "extension"))
    parser.add_argument("--verbose", action="store_true", help="show every line the tasks log")
    return parser
