"""Rules turn measurements into a classification with its explanation.

- ThresholdRule: an absolute limit on one value (a series is reduced first, e.g. its last).
- BaselineRule: candidate against baseline. A regression must be statistically significant
  (one-sided in the harmful direction, two-sided for `either`) AND at least `min_effect` large
  in the harmful direction; smaller or favourable changes pass. Too few samples is
  Inconclusive, never a silent pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .mannwhitney import mann_whitney_u
from .model import Classification, Direction, Explanation, NoDataPolicy
from .proportions import Counts, compare_proportions
from .ranks import median
from .shift import hodges_lehmann
from .threshold import Threshold, parse_threshold

Aggregate = Literal["last", "first", "min", "max", "mean", "sum"]
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "last": lambda v: v[-1],
    "first": lambda v: v[0],
    "min": min,
    "max": max,
    "mean": lambda v: math.fsum(v) / len(v),
    "sum": math.fsum,
}
EffectScale = Literal["absolute", "relative"]


@dataclass(frozen=True)
class Outcome:
    classification: Classification
    explanation: Explanation


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


@dataclass(frozen=True)
class ThresholdRule:
    threshold: Threshold
    aggregate: Aggregate = "last"
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE

    def evaluate(self, series: Sequence[float | None]) -> Outcome:
        values = _finite(series)
        limit = str(self.threshold)
        if not values:
            text = f"no data; limit {limit} (noData: {self.no_data.value})"
            return Outcome(Classification.NO_DATA, Explanation("threshold", text, limit=limit))
        value = _AGGREGATES[self.aggregate](values)
        ok = self.threshold.holds(value)
        verb = "within" if ok else "breaks"
        points = f"{len(values)} point{'s' if len(values) != 1 else ''}"
        text = f"{self.aggregate} value {value:.6g} {verb} limit {limit} ({points})"
        explanation = Explanation(
            "threshold", text, value=value, limit=limit, candidate_samples=len(values)
        )
        return Outcome(Classification.PASS if ok else Classification.FAIL, explanation)


@dataclass(frozen=True)
class BaselineRule:
    kind: Literal["rate", "continuous"]
    direction: Direction = Direction.INCREASE
    alpha: float = 0.05
    min_effect: float = 0.0
    effect_scale: EffectScale = "absolute"
    min_samples: int = 1
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_effect < 0:
            raise ValueError("minEffect is a magnitude and must not be negative")
        if self.min_samples < 1:
            raise ValueError("minSamples must be at least 1")

    @property
    def rule_name(self) -> str:
        return f"baseline-{self.kind}"

    def _missing(self, what: str, classification: Classification) -> Outcome:
        return Outcome(classification, Explanation(self.rule_name, what, alpha=self.alpha))

    def _decide(self, p_value: float, effect: float) -> tuple[Classification, str]:
        harmful = self.direction.bad_magnitude(effect)
        significant = p_value <= self.alpha
        if significant and harmful >= self.min_effect and harmful > 0:
            return Classification.FAIL, "significant regression"
        if significant and harmful > 0:
            return Classification.PASS, "significant but smaller than the effect floor"
        if significant:
            return Classification.PASS, "significant, but the estimated change is not harmful"
        return Classification.PASS, "no significant regression"

    def _scaled(self, raw: float, reference: float) -> float:
        if self.effect_scale == "absolute":
            return raw
        if reference == 0:
            return 0.0 if raw == 0 else math.copysign(math.inf, raw)
        return raw / abs(reference)

    def evaluate_rate(self, baseline: Counts | None, candidate: Counts | None) -> Outcome:
        if candidate is None or candidate.trials == 0:
            return self._missing("no candidate data", Classification.NO_DATA)
        if baseline is None or baseline.trials == 0:
            return self._missing("no baseline data to compare with", Classification.INCONCLUSIVE)
        if min(baseline.trials, candidate.trials) < self.min_samples:
            text = (
                f"too few samples: {candidate.trials} candidate, {baseline.trials} baseline "
                f"(minSamples {self.min_samples})"
            )
            return self._missing(text, Classification.INCONCLUSIVE)
        alternative = self.direction.alternative
        result = compare_proportions(baseline, candidate, alternative, 1.0 - self.alpha)
        effect = self._scaled(result.difference, result.baseline_rate)
        classification, reason = self._decide(result.p_value, effect)
        effect_name = "difference" if self.effect_scale == "absolute" else "relative difference"
        relative = "" if self.effect_scale == "absolute" else f" = {effect:+.2%} of baseline"
        text = (
            f"rate {result.candidate_rate:.4%} vs baseline {result.baseline_rate:.4%} "
            f"({candidate.events}/{candidate.trials} vs {baseline.events}/{baseline.trials}), "
            f"p={result.p_value:.3g} ({result.method}), difference "
            f"{result.difference:+.4%} [CI {result.ci_low:+.4%}, {result.ci_high:+.4%}]"
            f"{relative}: {reason}"
        )
        explanation = Explanation(
            rule=self.rule_name,
            summary=text,
            value=result.candidate_rate,
            baseline_value=result.baseline_rate,
            candidate_samples=candidate.trials,
            baseline_samples=baseline.trials,
            p_value=result.p_value,
            alpha=self.alpha,
            method=result.method,
            effect=effect,
            effect_name=effect_name,
            min_effect=self.min_effect,
            ci_low=result.ci_low,
            ci_high=result.ci_high,
            ci_name="difference",
            extra=(("relativeRisk", result.relative_risk), ("difference", result.difference)),
        )
        return Outcome(classification, explanation)

    def evaluate_continuous(
        self, baseline: Sequence[float | None], candidate: Sequence[float | None]
    ) -> Outcome:
        base, cand = _finite(baseline), _finite(candidate)
        if not cand:
            return self._missing("no candidate data", Classification.NO_DATA)
        if not base:
            return self._missing("no baseline data to compare with", Classification.INCONCLUSIVE)
        if min(len(base), len(cand)) < self.min_samples:
            text = (
                f"too few samples: {len(cand)} candidate, {len(base)} baseline "
                f"(minSamples {self.min_samples})"
            )
            return self._missing(text, Classification.INCONCLUSIVE)
        test = mann_whitney_u(cand, base, self.direction.alternative)
        shift = hodges_lehmann(base, cand, 1.0 - self.alpha)
        base_median, cand_median = median(base), median(cand)
        effect = self._scaled(shift.estimate, base_median)
        classification, reason = self._decide(test.p_value, effect)
        effect_name = "shift" if self.effect_scale == "absolute" else "relative shift"
        relative = "" if self.effect_scale == "absolute" else f" = {effect:+.2%} of baseline"
        text = (
            f"median {cand_median:.6g} vs baseline {base_median:.6g} "
            f"(n={len(cand)} vs {len(base)}), Mann-Whitney p={test.p_value:.3g} ({test.method}), "
            f"shift {shift.estimate:+.4g} [CI {shift.ci_low:+.4g}, {shift.ci_high:+.4g}]"
            f"{relative}: {reason}"
        )
        explanation = Explanation(
            rule=self.rule_name,
            summary=text,
            value=cand_median,
            baseline_value=base_median,
            candidate_samples=len(cand),
            baseline_samples=len(base),
            p_value=test.p_value,
            alpha=self.alpha,
            method=test.method,
            effect=effect,
            effect_name=effect_name,
            min_effect=self.min_effect,
            ci_low=shift.ci_low,
            ci_high=shift.ci_high,
            ci_name="shift",
            extra=(
                ("shift", shift.estimate),
                ("rankBiserial", test.rank_biserial),
                ("u", test.u1),
            ),
        )
        return Outcome(classification, explanation)


Rule = ThresholdRule | BaselineRule


# The keys a check's `rule:` mapping accepts (YAML camelCase).
THRESHOLD_KEYS = frozenset({"threshold", "aggregate", "noData"})
BASELINE_KEYS = frozenset(
    {"baseline", "direction", "alpha", "minEffect", "effect", "minSamples", "noData"}
)


def _reject_unknown(mapping: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ValueError(f"unknown rule option(s) {unknown}; allowed: {sorted(allowed)}")


def rule_from_mapping(mapping: Mapping[str, Any]) -> Rule:
    """Build a rule from a check's `rule:` mapping, e.g. {threshold: '< 0.01', noData: fail}
    or {baseline: rate, direction: increase, alpha: 0.01, minEffect: 0.005}."""
    no_data = NoDataPolicy(str(mapping.get("noData", "inconclusive")).lower())
    if "threshold" in mapping and "baseline" in mapping:
        raise ValueError("a rule is either a threshold or a baseline, not both")
    if "threshold" in mapping:
        _reject_unknown(mapping, THRESHOLD_KEYS)
        aggregate = str(mapping.get("aggregate", "last"))
        if aggregate not in _AGGREGATES:
            raise ValueError(f"aggregate must be one of {sorted(_AGGREGATES)}")
        threshold = parse_threshold(str(mapping["threshold"]))
        return ThresholdRule(threshold, aggregate, no_data)  # type: ignore[arg-type]
    if "baseline" in mapping:
        _reject_unknown(mapping, BASELINE_KEYS)
        kind = str(mapping["baseline"])
        if kind not in ("rate", "continuous"):
            raise ValueError("baseline must be 'rate' or 'continuous'")
        default_scale = "absolute" if kind == "rate" else "relative"
        scale = str(mapping.get("effect", default_scale))
        if scale not in ("absolute", "relative"):
            raise ValueError("effect must be 'absolute' or 'relative'")
        return BaselineRule(
            kind=kind,  # type: ignore[arg-type]
            direction=Direction(str(mapping.get("direction", "increase")).lower()),
            alpha=float(mapping.get("alpha", 0.05)),
            min_effect=float(mapping.get("minEffect", 0.0)),
            effect_scale=scale,  # type: ignore[arg-type]
            min_samples=int(mapping.get("minSamples", 1)),
            no_data=no_data,
        )
    raise ValueError("a rule needs either 'threshold' or 'baseline'")
