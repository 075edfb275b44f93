"""Comparing two rates (events / trials): pooled two-proportion z test, Fisher's exact test
when the normal approximation is not valid, and Newcombe's hybrid score interval.

The z test is used only when every expected cell count of the 2x2 table under the pooled
rate is at least MIN_EXPECTED (the classic rule of thumb); otherwise, which includes zero
events and tiny samples, Fisher's exact test (conditional on the margins) decides. Both give
p = 1 when neither group has an event: equal zero rates are no evidence of a change.
alternative "greater" means the candidate rate is higher than the baseline rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .mannwhitney import Alternative
from .normal import norm_isf, norm_sf

MIN_EXPECTED = 5.0
_FISHER_RELATIVE_TOLERANCE = 1e-7  # as R's fisher.test: equal-probability tables count


@dataclass(frozen=True)
class Counts:
    events: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 0 or not 0 <= self.events <= self.trials:
            raise ValueError(f"need 0 <= events <= trials, got {self.events}/{self.trials}")

    @property
    def rate(self) -> float:
        return self.events / self.trials if self.trials else math.nan


@dataclass(frozen=True)
class ProportionComparison:
    baseline_rate: float
    candidate_rate: float
    difference: float  # candidate - baseline
    relative_risk: float | None  # candidate / baseline; inf if only the candidate has events
    p_value: float
    method: Literal["z", "fisher"]
    z: float | None
    ci_low: float  # Newcombe interval of the difference at `confidence`
    ci_high: float
    confidence: float


def z_test_valid(baseline: Counts, candidate: Counts) -> bool:
    total = baseline.trials + candidate.trials
    pooled_events = baseline.events + candidate.events
    pooled = pooled_events / total
    expected = [n * p for n in (baseline.trials, candidate.trials) for p in (pooled, 1 - pooled)]
    return min(expected) >= MIN_EXPECTED


def pooled_z(baseline: Counts, candidate: Counts) -> float:
    pooled = (baseline.events + candidate.events) / (baseline.trials + candidate.trials)
    variance = pooled * (1 - pooled) * (1 / baseline.trials + 1 / candidate.trials)
    difference = candidate.rate - baseline.rate
    if variance == 0.0:
        return 0.0 if difference == 0 else math.copysign(math.inf, difference)
    return difference / math.sqrt(variance)


def z_p_value(z: float, alternative: Alternative) -> float:
    if alternative == "greater":
        return norm_sf(z)
    if alternative == "less":
        return norm_sf(-z)
    return min(1.0, 2.0 * norm_sf(abs(z)))


def _log_hypergeom_pmf(k: int, total: int, successes: int, draws: int) -> float:
    def log_comb(n: int, r: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)

    return log_comb(successes, k) + log_comb(total - successes, draws - k) - log_comb(total, draws)


def fisher_exact_p(baseline: Counts, candidate: Counts, alternative: Alternative) -> float:
    """Fisher's exact test on [[candidate events, non-events], [baseline events, non-events]].

    "greater" is scipy's fisher_exact(table, alternative="greater") for that table.
    """
    total = baseline.trials + candidate.trials
    events = baseline.events + candidate.events
    draws = candidate.trials
    low, high = max(0, events - baseline.trials), min(events, draws)
    pmf = {k: math.exp(_log_hypergeom_pmf(k, total, events, draws)) for k in range(low, high + 1)}
    observed = candidate.events
    if alternative == "greater":
        p = sum(v for k, v in pmf.items() if k >= observed)
    elif alternative == "less":
        p = sum(v for k, v in pmf.items() if k <= observed)
    else:
        limit = pmf[observed] * (1.0 + _FISHER_RELATIVE_TOLERANCE)
        p = sum(v for v in pmf.values() if v <= limit)
    return min(max(p, 0.0), 1.0)


def wilson_interval(counts: Counts, confidence: float) -> tuple[float, float]:
    """Wilson score interval (no continuity correction) of a single proportion."""
    if counts.trials == 0:
        return 0.0, 1.0
    z = norm_isf((1.0 - confidence) / 2.0)
    n, p = counts.trials, counts.rate
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    baseline: Counts, candidate: Counts, confidence: float
) -> tuple[float, float]:
    """Newcombe (1998) method 10: hybrid score interval of candidate - baseline."""
    l1, u1 = wilson_interval(candidate, confidence)
    l2, u2 = wilson_interval(baseline, confidence)
    p1, p2 = candidate.rate, baseline.rate
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def relative_risk(baseline: Counts, candidate: Counts) -> float | None:
    if baseline.events == 0:
        return None if candidate.events == 0 else math.inf
    return candidate.rate / baseline.rate


def compare_proportions(
    baseline: Counts,
    candidate: Counts,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> ProportionComparison:
    if baseline.trials == 0 or candidate.trials == 0:
        raise ValueError("both groups need at least one trial")
    z: float | None = None
    if z_test_valid(baseline, candidate):
        z = pooled_z(baseline, candidate)
        method: Literal["z", "fisher"] = "z"
        p = z_p_value(z, alternative)
    else:
        method = "fisher"
        p = fisher_exact_p(baseline, candidate, alternative)
    low, high = newcombe_interval(baseline, candidate, confidence)
    return ProportionComparison(
        baseline_rate=baseline.rate,
        candidate_rate=candidate.rate,
        difference=candidate.rate - baseline.rate,
        relative_risk=relative_risk(baseline, candidate),
        p_value=p,
        method=method,
        z=z,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
    )
