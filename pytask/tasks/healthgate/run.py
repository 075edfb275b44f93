"""The evaluation loop: every interval, read every check's sources (at most five queries at
once), classify, feed run control, explain; stop when run control says so.

Live, evaluation k happens at `first + k * interval` (first = the deployment start plus the
initial delay, or now if that has passed). A replay evaluates the same instants of a past
window one after the other, without waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from pytask.agent import TaskContext
from pytask.gate import (
    BaselineRule,
    CheckResult,
    CheckSpec,
    RunPolicy,
    RunState,
    advance,
    evaluate_check,
    is_finished,
    start,
    unavailable_result,
)
from pytask.gate.render import log_line

from . import scope as scopes
from .limits import MAX_CONCURRENT
from .sources import Reading, Sources, SourceUnavailable
from .spec import GateSpec

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _sleep_until(moment: datetime, now: Clock) -> None:
    remaining = (moment - now()).total_seconds()
    if remaining > 0:
        time.sleep(remaining)


@dataclass
class Run:
    """What the loop produced: run control's state and how the gate got there."""

    policy: RunPolicy
    state: RunState
    start: datetime
    times: list[datetime] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    decided_after: float | None = None  # seconds from the first evaluation to the decision
    notes: list[str] = field(default_factory=list)


@dataclass
class Gate:
    ctx: TaskContext
    spec: GateSpec
    sources: Sources
    targets: list[scopes.Target]
    baseline_targets: dict[str, list[scopes.Target]]
    now: Clock = utc_now

    def schedule(self, start: datetime) -> tuple[RunPolicy, list[datetime]]:
        """The instants of evaluation and the policy they fit."""
        spec = self.spec
        step = timedelta(seconds=spec.interval)
        first = start + timedelta(seconds=spec.initial_delay)
        if spec.window_end is not None:
            count = int((spec.window_end - first) / step) + 1 if first <= spec.window_end else 1
            policy = replace(spec.policy, intervals=max(1, count))
            first = min(first, spec.window_end)
        else:
            policy = spec.policy
            first = max(first, self.now())
        return policy, [first + i * step for i in range(policy.intervals)]

    def run(self, start_at: datetime) -> Run:
        policy, times = self.schedule(start_at)
        names = [c.name for c in self.spec.checks]
        run = Run(policy, start(names), start_at, series={n: [] for n in names})
        live = not self.spec.replay
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT) as pool:
            for index, at in enumerate(times, start=1):
                if live:
                    _sleep_until(at, self.now)
                self._interval(pool, run, index, at)
                if run.state.decision is not None and run.decided_after is None:
                    run.decided_after = time.monotonic() - began
                if is_finished(run.state, policy):
                    break
        return run

    def _interval(self, pool: ThreadPoolExecutor, run: Run, index: int, at: datetime) -> None:
        results, readings = self.evaluate(pool, run.start, at)
        run.state = advance(run.state, run.policy, results)
        run.times.append(at)
        title = f"Evaluation {index}/{run.policy.intervals} at {at:%Y-%m-%dT%H:%M:%SZ}"
        with self.ctx.group(title):
            self.ctx.log(f"Window {run.start:%H:%M:%S}–{at:%H:%M:%S} UTC")
            for result in results:
                run.series[result.check].append(result.explanation.value)
                self.ctx.log(log_line(result, run.series[result.check]))
                reading = readings.get(result.check)
                if reading is not None and reading.incomplete:
                    note = f"{result.check}: data incomplete ({reading.note})"
                    run.notes.append(note)
                    self.ctx.warning(note)
        self.ctx.progress(min(100, round(100 * index / run.policy.intervals)), title)
        if run.state.decision is not None:
            self.ctx.log(f"Run control: {run.state.decision.reason}")

    def evaluate(
        self, pool: ThreadPoolExecutor, start_at: datetime, at: datetime
    ) -> tuple[list[CheckResult], dict[str, Reading]]:
        """Every check at instant `at`: candidate and (for baselines) baseline in parallel."""
        candidate = scopes.candidate(start_at, at, self.targets)
        span = (start_at - (at - start_at) - timedelta(seconds=1), at)
        jobs: list[tuple[CheckSpec, Future[Reading], Future[Reading] | None]] = []
        for check in self.spec.checks:
            main = pool.submit(self.sources.read, check, candidate, span)
            other = None
            if isinstance(check.rule, BaselineRule):
                baseline = self._baseline(check, start_at, at)
                other = pool.submit(self.sources.read, check, baseline, span)
            jobs.append((check, main, other))
        results: list[CheckResult] = []
        readings: dict[str, Reading] = {}
        for check, main, other in jobs:
            result, reading = _classify(check, main, other)
            results.append(result)
            if reading is not None:
                readings[check.name] = reading
        return results, readings

    def _baseline(self, check: CheckSpec, start_at: datetime, at: datetime) -> scopes.Scope:
        others = self.baseline_targets.get(check.name)
        if others:
            return scopes.candidate(start_at, at, others)
        return scopes.previous_window(start_at, at, self.targets)


def _classify(
    check: CheckSpec, main: Future[Reading], other: Future[Reading] | None
) -> tuple[CheckResult, Reading | None]:
    try:
        candidate = main.result()
        baseline = other.result() if other is not None else None
    except SourceUnavailable as exc:
        return unavailable_result(check, str(exc)), None
    incomplete = candidate.incomplete or (baseline is not None and baseline.incomplete)
    result = evaluate_check(
        check,
        candidate.measurement,
        baseline.measurement if baseline else None,
        data_incomplete=incomplete,
    )
    if baseline is not None and baseline.incomplete and not candidate.incomplete:
        candidate = replace(candidate, incomplete=True, note=f"baseline: {baseline.note}")
    return result, candidate


def baseline_target_ids(checks: Sequence[CheckSpec]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for check in checks:
        ids = check.options.get("baselineTargets")
        if check.options.get("baselineScope") == "otherTargets" and ids:
            out[check.name] = [str(i) for i in (ids if isinstance(ids, list) else [ids])]
    return out
