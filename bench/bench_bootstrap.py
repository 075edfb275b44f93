"""Launcher bootstrap: the cold build of its Python environment from a local wheelhouse, and
the warm start that reuses it.

    python -m bench bootstrap
    BENCH_BOOTSTRAP_COLD_RUNS=1 BENCH_BOOTSTRAP_WARM_RUNS=15 python -m bench bootstrap

The wheelhouse (every wheel of tasks/requirements.lock) is downloaded once, outside the
timing; pip is then allowed only that folder (PIP_NO_INDEX, PIP_FIND_LINKS), as on an
offline agent. Both measures stop when the launcher spawns the task's Python (recorded by
bench/spawn_marker.js), so they are the launcher's own work, not the task's run time; the
task itself (PublishVmApp without inputs) ends at once with a Failed result.

- cold: a fresh tools directory, so the launcher finds no environment and builds one.
  Baseline: what a user would do by hand with the same Python and wheelhouse,
  `python3 -m venv` + `pip install --require-hashes -r requirements.lock` + the wheel.
- warm: the environment is there; the launcher only decides to reuse it (reads its cached
  choice of interpreter, or probes a shim script, and checks the marker and pytask's files).
  Baseline: the floor of any Node launcher, `node -e` spawning the environment's Python
  directly with no checks.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import agent_setup
from bench.record import Comparison, report

COLD_RUNS = int(os.environ.get("BENCH_BOOTSTRAP_COLD_RUNS", "3"))
WARM_RUNS = int(os.environ.get("BENCH_BOOTSTRAP_WARM_RUNS", "9"))
TASK = "PublishVmApp"
# The floor for warm starts: Node spawning the ready interpreter, nothing checked.
FLOOR_SCRIPT = (
    "require('child_process').spawn(process.argv[1], ['-I', '-m', 'pytask', process.argv[2]],"
    " {stdio: 'inherit'})"
)


def launcher_start(task_dir: Path, env: dict[str, str]) -> float:
    """Seconds from starting `node launcher.js` to its spawn of the task's Python."""
    mark = Path(env["BENCH_SPAWN_MARK"])
    mark.unlink(missing_ok=True)
    started = time.time()
    done = subprocess.run(
        ["node", str(task_dir / "launcher.js")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    spawned = agent_setup.spawn_times(mark)
    if not spawned:
        raise RuntimeError(f"the launcher never started Python: {done.stdout[-3000:]}")
    return spawned[0] - started


def floor_start(python: Path, env: dict[str, str]) -> float:
    mark = Path(env["BENCH_SPAWN_MARK"])
    mark.unlink(missing_ok=True)
    started = time.time()
    subprocess.run(
        ["node", "-e", FLOOR_SCRIPT, str(python), TASK],
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return agent_setup.spawn_times(mark)[0] - started


def plain_build(task_dir: Path, target: Path, env: dict[str, str]) -> float:
    """Seconds for `python3 -m venv` + pip install of the lock and the wheel, by hand."""
    wheel = next(task_dir.glob("pytask_vmapp-*.whl"))
    python = target / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    started = time.perf_counter()
    for command in (
        ["python3", "-m", "venv", str(target)],
        [*pip, "--require-hashes", "-r", str(task_dir / "requirements.lock")],
        [*pip, "--no-deps", str(wheel)],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=900)
    seconds = time.perf_counter() - started
    subprocess.run([str(python), "-I", "-c", "import pytask"], env=env, check=True)
    return seconds


def measure(root: Path) -> int:
    task_dir = agent_setup.stage(root / "stage") / TASK
    wheels = agent_setup.wheelhouse()
    base = agent_setup.host_base()
    cold: list[float] = []
    plain: list[float] = []
    for run in range(COLD_RUNS):  # interleaved, so load on the machine hits both alike
        tools = root / f"tools-{run}"
        env = agent_setup.launcher_env(base, tools, wheels, root / "spawn.mark")
        cold.append(launcher_start(task_dir, env))
        plain.append(plain_build(task_dir, root / f"plain-{run}", env))
        if run < COLD_RUNS - 1:
            shutil.rmtree(tools)
        shutil.rmtree(root / f"plain-{run}")
    report(
        Comparison(
            benchmark="bootstrap",
            measure=f"cold: launcher builds its environment from a local wheelhouse "
            f"(median of {COLD_RUNS})",
            ours=statistics.median(cold),
            baseline=statistics.median(plain),
            baseline_label="python3 -m venv + pip install -r requirements.lock + wheel, same "
            "wheelhouse",
            unit="s",
            target="ours < 30 s",
            met=statistics.median(cold) < 30.0,
            details={"runs_s": _round(cold), "plain_runs_s": _round(plain)},
        )
    )
    python = agent_setup.launcher_venv_python(tools)
    folder = agent_setup.python3_folder(base)
    direct = {**env, "PATH": f"{folder}{os.pathsep}{base.get('PATH', '')}"}
    warm: list[float] = []
    floor: list[float] = []
    warm_direct: list[float] = []
    for _ in range(WARM_RUNS):
        warm.append(launcher_start(task_dir, env))
        floor.append(floor_start(python, env))
        warm_direct.append(launcher_start(task_dir, direct))
    report(
        Comparison(
            benchmark="bootstrap",
            measure=f"warm: launcher start to the task's Python starting, environment reused "
            f"(median of {WARM_RUNS})",
            ours=statistics.median(warm),
            baseline=statistics.median(floor),
            baseline_label="node spawning the environment's Python directly, no checks",
            unit="s",
            target="ours < 0.3 s",
            met=statistics.median(warm) < 0.3,
            details={
                "runs_s": _round(warm),
                "floor_runs_s": _round(floor),
                "python3_on_path": shutil.which("python3", path=base.get("PATH")),
                # The same launcher when `python3` on PATH is the interpreter itself, as on
                # hosted agents, not a version manager's shim script (pyenv here).
                "direct_python3_median_s": round(statistics.median(warm_direct), 3),
                "direct_python3_runs_s": _round(warm_direct),
            },
        )
    )
    return 0


def _round(values: list[float]) -> list[float]:
    return [round(value, 3) for value in values]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-bootstrap-") as folder:
        return measure(Path(folder))


if __name__ == "__main__":
    sys.exit(main())
