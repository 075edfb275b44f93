"""The demo's driver: stage the extension, start the seeded sandbox, expand the demo pipeline
(the shipped release template) and run it for two versions, check what happened, report."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytask.demo import world
from pytask.demo.agent import Agent
from pytask.demo.console import Console
from pytask.demo.expand import Expander
from pytask.demo.expect import check_outcome
from pytask.demo.model import ReleaseRun
from pytask.demo.report import write_report
from pytask.demo.runner import Runner

REPO = Path(__file__).resolve().parents[2]
PIPELINE = Path(__file__).with_name("pipeline.yml")
# What a newcomer should expect before a minute of log lines scrolls by.
STORY = (
    f"Two releases of {world.APP} go through Publish -> dev -> test -> prod on a local Azure "
    f"sandbox.\n{world.HEALTHY} is healthy and should reach prod. {world.UNHEALTHY}'s telemetry "
    "is slow and error-prone: its health gate in test\nshould fail, the on.failure hook should "
    "roll test back, and prod should never be touched."
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv or [])
    out = Console(verbose=args.verbose)
    if shutil.which("node") is None or shutil.which("bash") is None:
        out.fail("the demo needs node (the tasks run on the agent's Node) and bash on PATH")
        return 1
    root = Path(args.work_dir or tempfile.mkdtemp(prefix="vmapp-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    out.line(STORY)
    demo = run_releases(out, root, Path(args.stage_dir).resolve() if args.stage_dir else None)
    report = write_report(root / "report.html", demo.runs, demo.problems, demo.seconds)
    out.summary(demo.runs, demo.problems, demo.seconds)
    out.line(f"\nReport: {report}")
    out.line(f"   open it in a browser: {report.as_uri()}")
    out.line("   every line each task logged: .venv/bin/pytask demo --verbose")
    return 1 if demo.problems else 0


@dataclass
class DemoRun:
    """What the demo's releases produced (the sandbox is stopped; its logs stay in its state)."""

    runs: list[ReleaseRun]
    problems: list[str]
    sandbox: world.Sandbox
    seconds: float


def run_releases(out: Console, root: Path, stage_dir: Path | None = None) -> DemoRun:
    """Stage the extension, start the seeded sandbox, release both versions, check the outcome.
    Also what bench/bench_release.py times, so the benchmark runs exactly the demo."""
    started = time.monotonic()
    pipeline = Expander(repositories={"vmapp": REPO}).expand_pipeline(PIPELINE)
    # Staged inside the run's own folder by default: two demos side by side would otherwise
    # rebuild the same build/extension under each other's feet.
    staged = _stage(out, stage_dir or root / "extension")
    out.title("Starting the sandbox (a local Azure) with the demo world")
    sandbox = world.start_sandbox(root)
    try:
        out.line(f"   ARM at {sandbox.ready['arm_url']}, state in {root / 'sandbox'}")
        runs = [
            _release(out, pipeline, sandbox, staged, root, version, build_id)
            for build_id, version in enumerate((world.HEALTHY, world.UNHEALTHY), start=101)
        ]
        problems = check_outcome(runs, sandbox)
    finally:
        sandbox.stop()
    return DemoRun(runs, list(problems), sandbox, time.monotonic() - started)


def _release(
    out: Console,
    pipeline: dict[str, Any],
    sandbox: world.Sandbox,
    stage_dir: Path,
    root: Path,
    version: str,
    build_id: int,
) -> ReleaseRun:
    """One pipeline run: its own checkout (with the package built) and work folder."""
    out.title(f"Release {version} (build {build_id})")
    sources = root / f"run-{build_id}" / "s"
    world.write_package(sources / "dist", version)
    agent = Agent(stage_dir, sandbox.ready_file, sources)
    runner = Runner(agent, out.line, root / f"run-{build_id}")
    release = ReleaseRun(version, build_id)
    runner.run(pipeline, release, _queued(sandbox, sources, version, build_id))
    return release


def _queued(sandbox: world.Sandbox, sources: Path, version: str, build_id: int) -> dict[str, str]:
    """Predefined variables of the run, and the queue-time ones the demo pipeline uses."""
    return {
        "Build.BuildId": str(build_id),
        "Build.BuildNumber": f"20261126.{build_id}",
        "Build.DefinitionName": "vm-app-release",
        "Build.SourcesDirectory": str(sources),
        "System.DefaultWorkingDirectory": str(sources),
        "System.DefinitionId": "7",
        "System.StageAttempt": "1",
        "appVersion": version,
        "sandboxConnection": str(sandbox.ready["connection"]["id"]),
        "sandboxSubscription": sandbox.subscription,
    }


def _stage(out: Console, stage_dir: Path) -> Path:
    out.title("Staging the extension (tools/build.py stage)")
    build = [
        sys.executable,
        str(REPO / "tools" / "build.py"),
        "stage",
        "--stage-dir",
        str(stage_dir),
    ]
    done = subprocess.run(build, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"staging failed:\n{done.stdout}\n{done.stderr}")
    tasks = sorted(p.name for p in (stage_dir / "tasks").iterdir())
    out.line(f"   {stage_dir / 'tasks'}: {', '.join(tasks)}")
    return stage_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytask demo", description=__doc__)
    parser.add_argument("--work-dir", help="where the sandbox state, agent folders and report go")
    parser.add_argument(
        "--stage-dir", help="where the extension's task folders are staged (default: in work-dir)"
    )
    parser.add_argument("--verbose", action="store_true", help="show every line the tasks log")
    return parser
