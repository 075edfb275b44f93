"""From query rows to a classified CheckResult: the one place where a check's shape meets its
rule. The task does the I/O and hands the rows (list of column-name -> value mappings) here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import CheckResult, Classification, Explanation
from .presets import CheckSpec, Shape
from .proportions import Counts
from .rules import BaselineRule, Outcome, ThresholdRule


@dataclass(frozen=True)
class Measurement:
    """What one query (or metric/alert read) produced for one scope and window."""

    series: tuple[float | None, ...] = ()
    counts: Counts | None = None

    @property
    def values(self) -> tuple[float | None, ...]:
        """The series a threshold or a continuous comparison sees; a rate for counts."""
        if self.counts is not None:
            return (self.counts.rate,) if self.counts.trials else ()
        return self.series


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def measurement_from_rows(shape: Shape, rows: Sequence[Mapping[str, Any]]) -> Measurement:
    if shape == "counts":
        if not rows:
            return Measurement()
        events = _number(rows[0].get("events")) or 0.0
        total = _number(rows[0].get("total")) or 0.0
        return Measurement(counts=Counts(int(events), int(total)))
    values = tuple(_number(row.get("value")) for row in rows)
    return Measurement(series=values[-1:] if shape == "value" else values)


def evaluate_check(
    spec: CheckSpec,
    candidate: Measurement,
    baseline: Measurement | None = None,
    data_incomplete: bool = False,
) -> CheckResult:
    rule = spec.rule
    if isinstance(rule, ThresholdRule):
        outcome = rule.evaluate(candidate.values)
    elif rule.kind == "rate":
        outcome = _rate(rule, candidate, baseline)
    else:
        outcome = rule.evaluate_continuous(baseline.values if baseline else (), candidate.values)
    return CheckResult(
        check=spec.name,
        classification=outcome.classification,
        explanation=outcome.explanation,
        critical=spec.critical,
        no_data=rule.no_data,
        data_incomplete=data_incomplete,
    )


def _rate(rule: BaselineRule, candidate: Measurement, baseline: Measurement | None) -> Outcome:
    if candidate.series and candidate.counts is None:
        raise ValueError("a rate baseline needs a counts-shaped source (events, total)")
    return rule.evaluate_rate(baseline.counts if baseline else None, candidate.counts)


def unavailable_result(spec: CheckSpec, reason: str) -> CheckResult:
    """A check whose source could not be read this interval (query error, throttling that
    outlasted the retries): Inconclusive, so run control's inconclusiveLimit absorbs it."""
    rule = "threshold" if isinstance(spec.rule, ThresholdRule) else spec.rule.rule_name
    return CheckResult(
        check=spec.name,
        classification=Classification.INCONCLUSIVE,
        explanation=Explanation(rule, f"source unavailable: {reason}"),
        critical=spec.critical,
        no_data=spec.rule.no_data,
        data_incomplete=True,
    )
