"""The steps of an expanded pipeline that are not our tasks, done as the agent does them:
`bash` (script with macros expanded, job variables in the environment, logging commands
read back), `publish` / `download` of pipeline artifacts (a folder per run), `checkout`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytask.demo.agent import StepRun, absorb
from pytask.localrun import clean_base_environment

_MACRO = re.compile(r"\$\(([^()\s]+)\)")


def expand_macros(value: Any, variables: Mapping[str, str]) -> str:
    """`$(name)` replaced by the variable's value; unknown names stay as written (as on an
    agent). Booleans are written as the agent writes them."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    lookup = {k.lower(): v for k, v in variables.items()}
    return _MACRO.sub(lambda m: lookup.get(m.group(1).lower(), m.group(0)), text)


def env_name(variable: str) -> str:
    return variable.replace(".", "_").replace(" ", "_").upper()


def bash(
    step: Mapping[str, Any],
    variables: Mapping[str, str],
    workspace: Path,
    cwd: Path,
    show: Callable[[str], None],
) -> StepRun:
    run = StepRun(task="bash", name=str(step.get("name") or step.get("displayName") or "bash"))
    script = workspace / f"script-{time.monotonic_ns()}.sh"
    script.write_text(expand_macros(step["bash"], variables), encoding="utf-8")
    env = clean_base_environment(os.environ)
    env.update({env_name(k): v for k, v in variables.items()})
    env.update({k: expand_macros(v, variables) for k, v in (step.get("env") or {}).items()})
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", str(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in (done.stdout + done.stderr).splitlines():
        run.log.append(line)
        shown = absorb(run, line)
        if shown is not None:
            show(shown)
    run.seconds = time.monotonic() - started
    run.result = "Succeeded" if done.returncode == 0 else "Failed"
    if done.returncode:
        run.errors.append(f"Bash exited with code '{done.returncode}'.")
    return run


def publish(step: Mapping[str, Any], variables: Mapping[str, str], artifacts: Path) -> StepRun:
    name = expand_macros(step.get("artifact") or "drop", variables)
    run = StepRun(task="publish", name=f"publish {name}")
    source = Path(expand_macros(step["publish"], variables))
    target = artifacts / name
    if target.exists():
        run.errors.append(f"Artifact {name} already exists for this run.")
    elif not source.exists():
        run.errors.append(f"Path does not exist: {source}")
    else:
        shutil.copytree(source, target) if source.is_dir() else _copy_file(source, target)
        run.result = "Succeeded"
    return run


def _copy_file(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    shutil.copy2(source, target / source.name)


def download(
    step: Mapping[str, Any], variables: Mapping[str, str], artifacts: Path, workspace: Path
) -> StepRun:
    name = expand_macros(step.get("artifact") or "", variables)
    run = StepRun(task="download", name=f"download {name}")
    source = artifacts / name
    if step.get("download") != "current":
        run.errors.append("only artifacts of the current run can be downloaded here")
    elif not source.is_dir():
        run.errors.append(f"Artifact {name} was not found for this run.")
    else:
        shutil.copytree(source, workspace / name, dirs_exist_ok=True)
        run.result = "Succeeded"
    return run
