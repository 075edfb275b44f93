"""The verdict, told three ways: outputs for later steps (verdict, failedChecks, report), a
JSON report with everything behind it, and a markdown summary with a table per check."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from pytask.agent import TaskContext, TaskError
from pytask.gate import RunVerdict, Verdict, conclude
from pytask.gate.render import counted_against, markdown_summary, report_model

from .limits import QueryLimiter
from .run import Run
from .scope import Target


def _iso(run: Run) -> list[str]:
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in run.times]


def write_report(
    ctx: TaskContext, run: Run, verdict: RunVerdict, targets: list[Target], limiter: QueryLimiter
) -> Path:
    model: dict[str, Any] = report_model(run.state, run.policy, verdict, run.series)
    model["scope"] = {
        "deploymentStartTime": run.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "targets": [t.id for t in targets],
        "computers": sorted({c for t in targets for c in t.computers}),
    }
    model["evaluations"] = _iso(run)
    model["queries"] = {"total": limiter.total, **dict(limiter.counts), "peak": limiter.peak}
    model["decidedAfterSeconds"] = run.decided_after
    model["notes"] = run.notes
    path = ctx.temp_dir / f"healthgate-report-{uuid.uuid4().hex[:12]}.json"
    path.write_text(json.dumps(model, indent=2, allow_nan=False), encoding="utf-8")
    return path


def publish(ctx: TaskContext, run: Run, targets: list[Target], limiter: QueryLimiter) -> None:
    verdict = conclude(run.state, run.policy)
    path = write_report(ctx, run, verdict, targets, limiter)
    ctx.set_output("verdict", verdict.outcome)
    ctx.set_output("failedChecks", json.dumps(list(verdict.failed_checks)))
    ctx.set_output("report", str(path))
    ctx.summary.paragraph(markdown_summary(run.state, verdict, run.series, run.policy))
    mode = " (dry run)" if verdict.dry_run else ""
    ctx.log(f"Verdict{mode}: {verdict.outcome}: {verdict.reason}")
    for index, result in counted_against(run.state):
        # What broke, by how much and against what, without opening the summary.
        ctx.log(
            f"  {result.check}: {result.counts_as.value} at evaluation {index}: "
            f"{result.explanation.summary}"
        )
    ctx.log(f"{verdict.intervals} evaluation(s), {limiter.total} query(ies); report: {path.name}")
    if verdict.would_be is not None and verdict.would_be is not Verdict.SUCCEEDED:
        ctx.warning(f"Dry run: in enforce mode the task would be {verdict.would_be.value}.")
    if verdict.data_incomplete:
        ctx.warning("Some query results were incomplete; the verdict says so.")
    if verdict.verdict is Verdict.FAILED:
        raise TaskError(f"Health gate failed: {verdict.reason}.")
    if verdict.verdict is Verdict.SUCCEEDED_WITH_ISSUES or verdict.data_incomplete:
        # A pass on incomplete data is not a clean pass: the release manager should look.
        ctx.succeeded_with_issues(f"Health gate{mode} {verdict.outcome.lower()}: {verdict.reason}")
