"""The demo's agent: runs one task step through its packaged launcher (`node launcher.js` in
the staged task folder) with the environment `pytask run` builds for the agent, and reads
the step's ##vso logging commands back as the agent does."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytask import localrun
from pytask.agent.definition import TASK_JSON_ENV

_UNESCAPES = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"))


@dataclass
class StepRun:
    """What the agent learned from one step."""

    task: str
    name: str
    result: str = "Failed"
    outputs: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)  # set without isOutput
    secrets: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summaries: list[Path] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    started: float = 0.0  # epoch seconds, to line up with the sandbox's logs (bench_release)
    exit_code: int = 0

    @property
    def succeeded(self) -> bool:
        return self.result in ("Succeeded", "SucceededWithIssues")


def _unescape(text: str) -> str:
    for escaped, token in _UNESCAPES:
        text = text.replace(escaped, token)
    return text.replace("%AZP25", "%")


def _command(line: str) -> tuple[str, dict[str, str], str] | None:
    start = line.find("##vso[")
    end = line.find("]", start + 6) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    name, _, text = line[start + 6 : end].partition(" ")
    props = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if key and sep:
            props[key.lower()] = _unescape(value)
    return name.lower(), props, _unescape(line[end + 1 :])


def absorb(step: StepRun, line: str) -> str | None:
    """Record a logging command; the line to show, if any."""
    parsed = _command(line)
    if parsed is None:
        return line
    name, props, message = parsed
    if name == "task.setvariable":
        if props.get("isoutput", "").lower() == "true":
            step.outputs[props.get("variable", "")] = message
        else:
            step.variables[props.get("variable", "")] = message
        if props.get("issecret", "").lower() == "true":
            step.secrets.add(props.get("variable", ""))
    elif name == "task.complete":
        step.result = props.get("result", step.result)
    elif name == "task.logissue":
        (step.errors if props.get("type") == "error" else step.warnings).append(message)
        return f"{props.get('type', 'issue')}: {message}"
    elif name == "task.uploadsummary":
        step.summaries.append(Path(message))
    return None


@dataclass(frozen=True)
class Agent:
    stage_dir: Path  # the staged extension (tools/build.py stage)
    connection_file: Path  # the sandbox's ready-file
    sources_dir: Path

    def run(
        self,
        task: str,
        name: str,
        inputs: Mapping[str, str],
        variables: Mapping[str, str],
        show: Callable[[str], None],
        work_dir: Path,
    ) -> StepRun:
        task_dir = self.stage_dir / "tasks" / task
        args = argparse.Namespace(
            task=task,
            task_json=str(task_dir / "task.json"),
            connection=str(self.connection_file),
            auth=None,
            subscription=None,
            sources_dir=str(self.sources_dir),
            work_dir=str(work_dir),
            input=[f"{k}={v}" for k, v in inputs.items()],
            variable=[f"{k}={v}" for k, v in variables.items()],
            secret=None,
            module=None,
        )
        _, env, cwd = localrun.prepare(args)
        env.pop(TASK_JSON_ENV, None)  # the launcher names its own task.json, as on an agent
        env["PYTASK_PYTHON"] = sys.executable
        step = StepRun(task=task, name=name)
        started = time.monotonic()
        with subprocess.Popen(
            ["node", str(task_dir / "launcher.js")],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        ) as child:
            assert child.stdout is not None
            for raw in child.stdout:
                line = raw.rstrip("\r\n")
                step.log.append(line)
                shown = absorb(step, line)
                if shown is not None:
                    show(shown)
            step.exit_code = child.wait()
        step.seconds = time.monotonic() - started
        if step.exit_code != 0:
            step.result = "Failed"
            step.errors.append(f"the launcher exited with {step.exit_code}")
        return step
