"""HealthGate's inputs, read and checked before anything touches Azure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from pytask.agent import Check, TaskContext, TaskError
from pytask.gate import CheckSpec, RunPolicy, Verdict, resolve_check
from pytask.gate.rules import BaselineRule, ThresholdRule
from pytask.tasks.resource_ids import parse_vm_targets

WORKSPACE_GUID_LENGTH = 36


def parse_time(text: str) -> datetime:
    """UTC ISO 8601; a time without a zone is UTC (as DeployVmApp writes it)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_checks(text: str, origin: str) -> list[CheckSpec]:
    """A YAML list of preset names or check mappings; every problem named with its check."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaskError(f"{origin}: not valid YAML ({exc}).") from exc
    if document is None:
        return []
    if isinstance(document, dict) and "checks" in document:
        document = document["checks"]
    if not isinstance(document, list):
        raise TaskError(f"{origin}: expected a YAML list of checks, e.g. [heartbeat, errorRate].")
    specs: list[CheckSpec] = []
    problems: list[str] = []
    for index, item in enumerate(document, start=1):
        try:
            if not isinstance(item, (str, dict)):
                raise ValueError("a check is a preset name or a mapping")
            spec = resolve_check(item)
            _check_source(spec)
            specs.append(spec)
        except (ValueError, TypeError) as exc:
            label = item if isinstance(item, str) else f"#{index}"
            if isinstance(item, dict):
                label = str(item.get("name") or label)
            problems.append(f"{origin}: check {label}: {exc}")
    if problems:
        raise TaskError(" ".join(problems))
    return specs


def _check_source(spec: CheckSpec) -> None:
    options = spec.options
    if spec.source == "metric" and not options.get("metric"):
        raise ValueError("a metric source needs 'metric' (e.g. 'Percentage CPU')")
    if spec.source == "alerts" and not isinstance(spec.rule, ThresholdRule):
        raise ValueError("an alerts source counts fired alerts: use a threshold rule")
    rule = spec.rule
    if isinstance(rule, BaselineRule) and rule.kind == "rate" and spec.shape != "counts":
        raise ValueError("a rate baseline needs a counts-shaped kql source (events, total)")
    scope = options.get("baselineScope", "previousWindow")
    if scope not in ("previousWindow", "otherTargets"):
        raise ValueError("baselineScope must be previousWindow or otherTargets")
    if scope == "otherTargets" and not options.get("baselineTargets"):
        raise ValueError("baselineScope otherTargets needs baselineTargets (resource ids)")


@dataclass(frozen=True)
class Workspace:
    """Where KQL checks run: a workspace id (GUID) or a resource (resource-centric)."""

    text: str

    @property
    def is_resource(self) -> bool:
        return self.text.startswith("/")


@dataclass(frozen=True)
class GateSpec:
    targets: list[str]
    deployment_start: datetime | None
    workspace: Workspace | None
    checks: list[CheckSpec]
    initial_delay: float
    interval: float
    policy: RunPolicy
    window_start: datetime | None
    window_end: datetime | None

    @property
    def replay(self) -> bool:
        return self.window_start is not None


TIME_CHECKS: tuple[Check[Any], ...] = (
    Check("deploymentStartTime", parse_time, "a UTC ISO 8601 time like 2026-01-31T12:00:00Z"),
    Check("windowStart", parse_time, "a UTC ISO 8601 time like 2026-01-31T12:00:00Z"),
    Check("windowEnd", parse_time, "a UTC ISO 8601 time like 2026-01-31T12:00:00Z"),
)


def _display(ctx: TaskContext, name: str) -> str:
    """How errors name an input, as the agent runner's own input errors do."""
    return ctx.definition.input(name).display


def _checks(ctx: TaskContext) -> list[CheckSpec]:
    origin = _display(ctx, "checks")
    specs = parse_checks(ctx.inputs.optional_string("checks") or "", origin)
    path = ctx.inputs.path("checksFile", must_exist=True)
    if path is not None and Path(path).is_file():
        file_origin = f"{_display(ctx, 'checksFile')} {path}"
        specs += parse_checks(Path(path).read_text(encoding="utf-8"), file_origin)
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TaskError(f"{origin}: check names must be unique; repeated: {', '.join(duplicates)}.")
    if not specs:
        raise TaskError("No checks: set 'checks' (e.g. [heartbeat, errorRate]) or 'checksFile'.")
    return specs


def read_spec(ctx: TaskContext) -> GateSpec:
    inputs = ctx.inputs
    checks = _checks(ctx)
    interval = inputs.optional_integer("intervalSeconds", minimum=1) or 60
    duration = inputs.optional_integer("durationMinutes", minimum=0)
    inconclusive = inputs.pick("inconclusiveResult") or "SucceededWithIssues"
    policy = RunPolicy.for_soak(
        10 if duration is None else duration,
        interval,
        failure_limit=inputs.optional_integer("failureLimit", minimum=0) or 0,
        inconclusive_limit=_default(inputs.optional_integer("inconclusiveLimit", minimum=0), 2),
        consecutive_successes_to_pass=inputs.optional_integer(
            "consecutiveSuccessesToPass", minimum=0
        )
        or 0,
        inconclusive_result=Verdict(inconclusive),
        dry_run=(inputs.pick("mode") or "enforce") == "dryRun",
    )
    workspace = inputs.optional_string("workspace")
    spec = GateSpec(
        targets=parse_vm_targets(inputs.lines("targets"), _display(ctx, "targets")),
        deployment_start=inputs.value(TIME_CHECKS[0]),
        workspace=Workspace(workspace.strip()) if workspace else None,
        checks=checks,
        initial_delay=float(
            _default(inputs.optional_integer("initialDelaySeconds", minimum=0), 180)
        ),
        interval=float(interval),
        policy=policy,
        window_start=inputs.value(TIME_CHECKS[1]),
        window_end=inputs.value(TIME_CHECKS[2]),
    )
    check_combinations(spec)
    return spec


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def check_combinations(spec: GateSpec) -> None:
    problems: list[str] = []
    if not spec.targets:
        problems.append("'targets' names no resource ids.")
    kql = [c.name for c in spec.checks if c.source == "kql"]
    if kql and spec.workspace is None:
        problems.append(f"Checks {', '.join(kql)} query Log Analytics: set 'workspace'.")
    workspace = spec.workspace
    if workspace and not workspace.is_resource and len(workspace.text) != WORKSPACE_GUID_LENGTH:
        problems.append("'workspace' is a workspace id (GUID) or a resource id.")
    if (spec.window_start is None) != (spec.window_end is None):
        problems.append("A replay needs both 'windowStart' and 'windowEnd'.")
    if spec.window_start and spec.window_end and spec.window_end <= spec.window_start:
        problems.append("'windowEnd' must be after 'windowStart'.")
    if problems:
        raise TaskError(" ".join(problems))
