"""The vocabulary of a gate: classifications, per-check results and their explanations."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from .mannwhitney import Alternative


class Classification(str, Enum):
    PASS = "Pass"
    FAIL = "Fail"
    NO_DATA = "NoData"
    INCONCLUSIVE = "Inconclusive"


class NoDataPolicy(str, Enum):
    """How run control counts an interval in which a check had no data."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def counts_as(self) -> Classification:
        return {
            NoDataPolicy.PASS: Classification.PASS,
            NoDataPolicy.FAIL: Classification.FAIL,
            NoDataPolicy.INCONCLUSIVE: Classification.INCONCLUSIVE,
        }[self]


class Direction(str, Enum):
    """Which change of the measured value is a regression."""

    INCREASE = "increase"  # e.g. error rate, latency
    DECREASE = "decrease"  # e.g. throughput, availability
    EITHER = "either"

    @property
    def alternative(self) -> Alternative:
        if self is Direction.INCREASE:
            return "greater"
        return "less" if self is Direction.DECREASE else "two-sided"

    def bad_magnitude(self, effect: float) -> float:
        """The effect measured in the harmful direction (negative when it is an improvement)."""
        if self is Direction.INCREASE:
            return effect
        if self is Direction.DECREASE:
            return -effect
        return abs(effect)


@dataclass(frozen=True)
class Explanation:
    """Everything a release manager needs to trust (or challenge) one classification."""

    rule: str  # "threshold", "baseline-rate" or "baseline-continuous"
    summary: str  # one line for humans
    value: float | None = None  # the candidate's value (rate, median, reduced series value)
    limit: str | None = None  # the threshold, e.g. "< 0.01"
    baseline_value: float | None = None
    candidate_samples: int | None = None
    baseline_samples: int | None = None
    p_value: float | None = None
    alpha: float | None = None
    method: str | None = None  # "z", "fisher", "exact", "asymptotic"
    effect: float | None = None  # the effect compared with the floor
    effect_name: str | None = None  # e.g. "difference", "relative shift"
    min_effect: float | None = None
    ci_low: float | None = None  # confidence interval of `ci_name`, in the value's units
    ci_high: float | None = None
    ci_name: str | None = None  # "difference" (rates) or "shift" (continuous)
    extra: tuple[tuple[str, float | None], ...] = ()  # other effect sizes, e.g. rank-biserial

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types with camelCase keys, like the rest of the report."""
        data = asdict(self)
        data["extra"] = dict(self.extra)
        return {
            _camel(key): _json_number(value) for key, value in data.items() if value is not None
        }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _json_number(value: Any) -> Any:
    # JSON has no infinity: an unbounded interval end is written as a string.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class CheckResult:
    check: str
    classification: Classification
    explanation: Explanation
    critical: bool = False
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE
    data_incomplete: bool = False  # e.g. a partial query result; the verdict says so

    @property
    def counts_as(self) -> Classification:
        """What run control counts: NoData is mapped through the check's noData policy."""
        if self.classification is Classification.NO_DATA:
            return self.no_data.counts_as
        return self.classification

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "classification": self.classification.value,
            "countsAs": self.counts_as.value,
            "critical": self.critical,
            "dataIncomplete": self.data_incomplete,
            "explanation": self.explanation.to_dict(),
        }
