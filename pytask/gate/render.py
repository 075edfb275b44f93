"""Pure rendering of a gate's state: sparklines, a markdown summary with a table per check,
and the JSON-serialisable report model written as the task's `report` output."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from .model import CheckResult, Classification
from .runcontrol import CheckTally, RunPolicy, RunState, RunVerdict

BARS = "▁▂▃▄▅▆▇█"
GAP = " "
NO_SERIES: Mapping[str, Sequence[float | None]] = MappingProxyType({})
TIMELINE_SYMBOLS = {
    Classification.PASS: "✓",
    Classification.FAIL: "✗",
    Classification.INCONCLUSIVE: "?",
    Classification.NO_DATA: "·",
}


def _buckets(series: Sequence[float | None], width: int) -> list[float | None]:
    # Longer series are shown as bucket means so the line fits in a log line.
    if len(series) <= width:
        return list(series)
    out: list[float | None] = []
    for i in range(width):
        chunk = series[i * len(series) // width : (i + 1) * len(series) // width]
        values = [v for v in chunk if v is not None and math.isfinite(v)]
        out.append(math.fsum(values) / len(values) if values else None)
    return out


def sparkline(series: Sequence[float | None], width: int = 60) -> str:
    """One character per point, low to high; gaps (None, NaN) as spaces."""
    points = _buckets(series, width)
    values = [v for v in points if v is not None and math.isfinite(v)]
    if not values:
        return GAP * len(points)
    low, high = min(values), max(values)
    span = high - low
    chars = []
    for value in points:
        if value is None or not math.isfinite(value):
            chars.append(GAP)
        elif span == 0:
            chars.append(BARS[len(BARS) // 2])
        else:
            chars.append(BARS[min(len(BARS) - 1, int((value - low) / span * len(BARS)))])
    return "".join(chars)


def timeline_text(timeline: Sequence[Classification]) -> str:
    return "".join(TIMELINE_SYMBOLS[c] for c in timeline)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def check_table(name: str, tally: CheckTally) -> str:
    """A markdown table of one check, one row per interval."""
    lines = [
        f"#### {name}{' (critical)' if tally.critical else ''}",
        "",
        "| # | Result | Value | Limit / baseline | n | p-value | Effect | CI | Explanation |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, result in enumerate(tally.results, start=1):
        e = result.explanation
        reference = e.limit if e.limit is not None else _cell(e.baseline_value)
        samples = "" if e.candidate_samples is None else str(e.candidate_samples)
        if e.baseline_samples is not None:
            samples += f" / {e.baseline_samples}"
        ci = (
            "" if e.ci_low is None else f"{e.ci_name or ''} [{_cell(e.ci_low)}, {_cell(e.ci_high)}]"
        )
        effect = "" if e.effect is None else f"{_cell(e.effect)} {e.effect_name or ''}".strip()
        row = [
            str(index),
            result.classification.value,
            _cell(e.value),
            _cell(reference),
            samples,
            _cell(e.p_value),
            effect,
            ci.strip(),
            _cell(e.summary),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def counted_against(state: RunState) -> list[tuple[int, CheckResult]]:
    """Per check that failed or was inconclusive, its latest such evaluation (1-based) and
    result: what a release manager reads first."""
    found = []
    for tally in state.tallies.values():
        for wanted in (Classification.FAIL, Classification.INCONCLUSIVE):
            hits = [(i, r) for i, r in enumerate(tally.results, start=1) if r.counts_as is wanted]
            if hits:
                found.append(hits[-1])
                break
    return found


def _evidence(result: CheckResult) -> str:
    e = result.explanation
    reference = e.limit if e.limit is not None else _cell(e.baseline_value)
    return f"{_cell(e.value)} | {_cell(reference)} | {_cell(e.summary)}"


def _rules(policy: RunPolicy) -> str:
    passing = (
        f"; {policy.consecutive_successes_to_pass} passing evaluations in a row pass it early"
        if policy.consecutive_successes_to_pass
        else ""
    )
    return (
        f"Rules: the gate fails when a check fails more than {policy.failure_limit} time(s) "
        "(a critical check: at its first failure) and is inconclusive when a check is "
        f"inconclusive more than {policy.inconclusive_limit} time(s){passing}."
    )


def _when(verdict: RunVerdict, policy: RunPolicy | None) -> str:
    planned = f" of {policy.intervals} planned" if policy else ""
    if verdict.decided_at is None:
        return f"Decided after all {verdict.intervals} evaluation(s){planned}."
    if verdict.dry_run:
        # A dry run evaluates the whole soak; the decision is where enforce mode would stop.
        return (
            f"Enforce mode would have decided at evaluation {verdict.decided_at}{planned}; "
            f"the dry run evaluated {verdict.intervals}."
        )
    return f"Decided at evaluation {verdict.decided_at}{planned}."


def markdown_summary(
    state: RunState,
    verdict: RunVerdict,
    series: Mapping[str, Sequence[float | None]] = NO_SERIES,
    policy: RunPolicy | None = None,
) -> str:
    mode = " (dry run)" if verdict.dry_run else ""
    lines = [f"### Health gate: {verdict.outcome}{mode}", "", f"**{verdict.reason}**", ""]
    if verdict.would_be is not None:
        lines += [f"In enforce mode the task result would have been {verdict.would_be.value}.", ""]
    lines += [_when(verdict, policy) + (f" {_rules(policy)}" if policy else ""), ""]
    against = counted_against(state)
    if against:
        lines += [
            "| Counted against the gate | Result | Evaluation | Value | Limit / baseline "
            "| Why (and how sure) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for index, result in against:
            tally = state.tallies[result.check]
            times = (
                tally.failures if result.counts_as is Classification.FAIL else tally.inconclusive
            )
            name = f"**{result.check}**{' (critical)' if result.critical else ''}"
            outcome = f"{result.counts_as.value}: {times} of {len(tally.results)} evaluations"
            lines.append(f"| {name} | {outcome} | {index} | {_evidence(result)} |")
        lines.append("")
    lines += ["| Check | Timeline | Series |", "| --- | --- | --- |"]
    for name, tally in state.tallies.items():
        spark = sparkline(series.get(name, ()))
        lines.append(f"| {name} | `{timeline_text(tally.timeline)}` | {spark} |")
    for name, tally in state.tallies.items():
        lines += ["", check_table(name, tally)]
    return "\n".join(lines) + "\n"


def log_line(result: CheckResult, series: Sequence[float | None] = ()) -> str:
    """One line per check and interval for the task log."""
    spark = f" {sparkline(series, 30)}" if series else ""
    critical = " [critical]" if result.critical else ""
    outcome = result.classification.value
    return f"{result.check}{critical}: {outcome}{spark} {result.explanation.summary}"


def _json_series(series: Sequence[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in series]


def report_model(
    state: RunState,
    policy: RunPolicy,
    verdict: RunVerdict,
    series: Mapping[str, Sequence[float | None]] = NO_SERIES,
) -> dict[str, Any]:
    """Everything behind the verdict as plain JSON types (no NaN or infinity)."""
    checks = []
    for name, tally in state.tallies.items():
        checks.append(
            {
                "name": name,
                "critical": tally.critical,
                "failures": tally.failures,
                "inconclusive": tally.inconclusive,
                "timeline": [c.value for c in tally.timeline],
                "series": _json_series(series.get(name, ())),
                "results": [r.to_dict() for r in tally.results],
            }
        )
    return {
        "verdict": verdict.to_dict(),
        "policy": {
            "intervals": policy.intervals,
            "failureLimit": policy.failure_limit,
            "inconclusiveLimit": policy.inconclusive_limit,
            "consecutiveSuccessesToPass": policy.consecutive_successes_to_pass,
            "inconclusiveResult": policy.inconclusive_result.value,
            "dryRun": policy.dry_run,
        },
        "checks": checks,
    }
