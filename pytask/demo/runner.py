"""Runs an expanded pipeline (pytask/demo/expand.py) the way Azure Pipelines does, for the
features the release template uses:

- stages in order, each after its `dependsOn` (default: the previous stage) succeeded;
  stage variables, with `$[ stageDependencies... ]` runtime expressions resolved from the
  outputs of earlier stages;
- jobs in order, after their `dependsOn`, under their `condition` (succeeded() by default);
- a `deployment` job's runOnce hooks (preDeploy, deploy, routeTraffic, postRouteTraffic, then
  on.failure or on.success), each hook a separate job with its own workspace: hooks share
  nothing but pipeline artifacts, as on real agents;
- steps under their `condition`; our tasks through the packaged launchers (agent.py), the
  others as steps.py does them; macros `$(var)` expanded from the job's variables;
- output variables: `<step>.<var>` for a plain job, `<job>.<step>.<var>` for a deployment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytask.demo import steps
from pytask.demo.agent import Agent, StepRun
from pytask.demo.expand import evaluate
from pytask.demo.model import ReleaseRun, StageRun

HOOKS = ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic")
OUR_TASKS = ("PublishVmApp", "DevTestLabEnv", "DeployVmApp", "HealthGate")


class _Variables(dict[str, Any]):
    """Variable names are case-insensitive in conditions (`variables['x']`)."""

    def get(self, key: Any, default: Any = None) -> Any:
        wanted = str(key).lower()
        return next((v for k, v in self.items() if k.lower() == wanted), default)


@dataclass
class JobScope:
    """One job on one agent: its variables, workspace, status and the steps it ran."""

    name: str
    variables: dict[str, str]
    workspace: Path
    status: str = "succeeded"
    outputs: dict[str, str] = field(default_factory=dict)

    def condition(self, text: str | None) -> bool:
        if not text:
            return self.status == "succeeded"
        functions: dict[str, Callable[..., Any]] = {
            "succeeded": lambda: self.status == "succeeded",
            "failed": lambda: self.status == "failed",
            "succeededOrFailed": lambda: True,
            "always": lambda: True,
            "canceled": lambda: False,
        }
        scope = {"variables": _Variables(self.variables)}
        return bool(evaluate(text, scope, functions))


@dataclass
class Runner:
    agent: Agent
    say: Callable[[str], None]
    work_dir: Path  # this run's folder: artifacts and one workspace per job

    def run(
        self, pipeline: Mapping[str, Any], release: ReleaseRun, queued: Mapping[str, str]
    ) -> None:
        base = {**_plain_variables(pipeline.get("variables")), **queued}
        base = {k: steps.expand_macros(v, {**queued, **base}) for k, v in base.items()}
        statuses: dict[str, str] = {}
        outputs: dict[str, dict[str, Any]] = {}
        previous: str | None = None
        for stage in pipeline["stages"]:
            name = str(stage["stage"])
            depends = _names(stage.get("dependsOn", [previous] if previous else []))
            previous = name
            if not all(statuses.get(d) == "succeeded" for d in depends):
                release.stages.append(StageRun(name, "skipped"))
                statuses[name] = "skipped"
                failed = [d for d in depends if statuses.get(d) != "succeeded"]
                self.say(f"\n== Stage {name}: skipped ({', '.join(failed)} did not succeed)")
                continue
            variables = {**base, **self._stage_variables(stage, base, outputs)}
            run = self._stage(stage, variables, outputs)
            release.stages.append(run)
            statuses[name] = run.status

    # ------------------------------------------------------------------ stages and jobs

    def _stage_variables(
        self, stage: Mapping[str, Any], base: Mapping[str, str], outputs: Mapping[str, Any]
    ) -> dict[str, str]:
        resolved = {}
        for key, value in _plain_variables(stage.get("variables")).items():
            text = str(value).strip()
            if text.startswith("$[") and text.endswith("]"):
                found = evaluate(text[2:-1], {"stageDependencies": outputs, "variables": base})
                resolved[key] = "" if found is None else str(found)
            else:
                resolved[key] = steps.expand_macros(value, base)
        return resolved

    def _stage(
        self, stage: Mapping[str, Any], variables: dict[str, str], outputs: dict[str, Any]
    ) -> StageRun:
        run = StageRun(str(stage["stage"]))
        self.say(f"\n== Stage {run.name}")
        run.started = time.time()
        started = time.monotonic()
        results: dict[str, str] = {}
        stage_outputs: dict[str, Any] = outputs.setdefault(run.name, {})
        for job in stage.get("jobs", []):
            name = str(job.get("job") or job.get("deployment"))
            depends = _names(job.get("dependsOn", []))
            upstream = JobScope(name, variables, self.work_dir)
            upstream.status = (
                "failed" if any(results.get(d) != "succeeded" for d in depends) else "succeeded"
            )
            if not upstream.condition(job.get("condition")):
                results[name] = "skipped"
                self.say(f"   (job {name} skipped)")
                continue
            job_vars = {**variables, "System.StageName": run.name, "System.JobName": name}
            if "deployment" in job:
                status, out = self._deployment(job, job_vars, run)
            else:
                scope = self._job_scope(run.name, name, job_vars)
                self._steps(job.get("steps", []), scope, run, prefix="")
                status, out = scope.status, scope.outputs
            results[name] = status
            stage_outputs[name] = {"outputs": out, "result": status}
        run.status = "failed" if "failed" in results.values() else "succeeded"
        run.seconds = time.monotonic() - started
        self.say(f"== Stage {run.name}: {run.status} in {run.seconds:.1f} s")
        return run

    def _deployment(
        self, job: Mapping[str, Any], variables: dict[str, str], run: StageRun
    ) -> tuple[str, dict[str, str]]:
        name = str(job["deployment"])
        environment = str(job.get("environment", ""))
        self.say(f"   deployment {name} on environment {environment}")
        strategy = (job.get("strategy") or {}).get("runOnce") or {}
        outputs: dict[str, str] = {}
        status = "succeeded"
        env_vars = {**variables, "Environment.Name": environment}
        for hook in HOOKS:
            if hook not in strategy or status != "succeeded":
                continue
            scope = self._job_scope(run.name, f"{name}-{hook}", env_vars)
            self.say(f"   [{hook}]")
            self._steps(strategy[hook].get("steps", []), scope, run, prefix=f"{name}.")
            outputs.update(scope.outputs)
            status = scope.status
        final = (strategy.get("on") or {}).get("failure" if status == "failed" else "success")
        if final:
            outcome = "failure" if status == "failed" else "success"
            scope = self._job_scope(run.name, f"{name}-on-{outcome}", env_vars)
            self.say(f"   [on.{outcome}]")
            self._steps(final.get("steps", []), scope, run, prefix=f"{name}.")
            outputs.update(scope.outputs)
        return status, outputs

    def _job_scope(self, stage: str, job: str, variables: Mapping[str, str]) -> JobScope:
        workspace = self.work_dir / "agent" / f"{stage}-{job}"
        workspace.mkdir(parents=True, exist_ok=True)
        predefined = {
            "Pipeline.Workspace": str(workspace),
            "Agent.BuildDirectory": str(workspace),
            "System.JobAttempt": "1",
        }
        return JobScope(job, {**variables, **predefined}, workspace)

    # ------------------------------------------------------------------ steps

    def _steps(
        self, items: list[Mapping[str, Any]], scope: JobScope, stage: StageRun, prefix: str
    ) -> None:
        for item in items:
            if "checkout" in item:
                continue
            if not scope.condition(item.get("condition")):
                self.say(f"   (step {item.get('name') or item.get('displayName')} skipped)")
                continue
            began = time.time()
            step = self._step(item, scope)
            step.started = began
            stage.steps.append(step)
            for key, value in step.outputs.items():
                scope.outputs[f"{prefix}{step.name}.{key}"] = value
                scope.variables[f"{step.name}.{key}"] = value
            scope.variables.update(step.variables)
            self.say(f"   <- {step.name}: {step.result} in {step.seconds:.1f} s")
            if not step.succeeded and not item.get("continueOnError"):
                scope.status = "failed"

    def _step(self, item: Mapping[str, Any], scope: JobScope) -> StepRun:
        show: Callable[[str], None] = lambda line: self.say(f"      {line}")  # noqa: E731
        artifacts = self.work_dir / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        if "task" in item:
            task = str(item["task"]).split("@")[0]
            name = str(item.get("name") or task)
            self.say(f"   -> {scope.name}: {item['task']} ({name})")
            if task not in OUR_TASKS:
                return StepRun(task=task, name=name, errors=[f"{task} is not run by the demo"])
            inputs = {
                k: steps.expand_macros(v, scope.variables)
                for k, v in item.get("inputs", {}).items()
            }
            step = self.agent.run(task, name, inputs, scope.variables, show, scope.workspace)
            step.name = name
            return step
        self.say(f"   -> {scope.name}: {item.get('displayName') or next(iter(item))}")
        if "bash" in item:
            return steps.bash(item, scope.variables, scope.workspace, self.agent.sources_dir, show)
        if "publish" in item:
            return steps.publish(item, scope.variables, artifacts)
        if "download" in item:
            return steps.download(item, scope.variables, artifacts, scope.workspace)
        return StepRun(task="unknown", name=str(next(iter(item))), errors=["unsupported step"])


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _plain_variables(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):  # the list form: [{name, value}]
        return {str(v["name"]): v.get("value", "") for v in value if "name" in v}
    return {}
