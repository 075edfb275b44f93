"""Threshold and baseline rules: classification and explanation."""

import numpy as np
import pytest

from pytask.gate import (
    BaselineRule,
    Classification,
    Counts,
    Direction,
    NoDataPolicy,
    ThresholdRule,
    parse_threshold,
    rule_from_mapping,
)


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("< 0.01", [0.0, 0.0099], [0.01, 1.0]),
        ("<= 5", [5.0, -3.0], [5.0001]),
        ("> 0.9", [0.95], [0.9, 0.1]),
        (">=1e-3", [0.001], [0.0009]),
        ("== 0", [0.0], [1.0]),
        ("between 0.1 and 0.5", [0.1, 0.3, 0.5], [0.09, 0.51]),
        ("  BETWEEN -1 AND .5 ", [-1.0, 0.5], [0.6]),
    ],
)
def test_parse_threshold(text: str, inside: list[float], outside: list[float]) -> None:
    threshold = parse_threshold(text)
    assert all(threshold.holds(v) for v in inside)
    assert not any(threshold.holds(v) for v in outside)
    assert not threshold.holds(float("nan"))
    assert parse_threshold(str(threshold)) == threshold


@pytest.mark.parametrize("text", ["", "< ", "0.01", "=< 3", "between 5 and 1", "< abc", "> 1 2"])
def test_parse_threshold_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_threshold(text)


def test_threshold_rule_classifies_and_explains() -> None:
    rule = ThresholdRule(parse_threshold("< 0.05"), aggregate="max")
    passing = rule.evaluate([0.01, 0.02, None, 0.03])
    assert passing.classification is Classification.PASS
    assert passing.explanation.value == 0.03
    assert passing.explanation.limit == "< 0.05"
    assert passing.explanation.candidate_samples == 3
    failing = rule.evaluate([0.01, 0.2, 0.03])
    assert failing.classification is Classification.FAIL
    assert "breaks limit < 0.05" in failing.explanation.summary
    assert rule.evaluate([]).classification is Classification.NO_DATA
    assert rule.evaluate([None, float("nan")]).classification is Classification.NO_DATA


def test_higher_error_rate_fails_on_baseline_while_under_absolute_limit() -> None:
    baseline, candidate = Counts(20, 10_000), Counts(80, 10_000)  # 0.2 % -> 0.8 %
    absolute = ThresholdRule(parse_threshold("< 0.01")).evaluate([candidate.rate])
    assert absolute.classification is Classification.PASS
    rule = BaselineRule("rate", Direction.INCREASE, alpha=0.05, min_effect=0.005)
    outcome = rule.evaluate_rate(baseline, candidate)
    assert outcome.classification is Classification.FAIL
    e = outcome.explanation
    assert e.p_value is not None and e.p_value < 1e-6
    assert e.effect == pytest.approx(0.006)
    assert (e.candidate_samples, e.baseline_samples, e.method) == (10_000, 10_000, "z")
    assert e.ci_low is not None and e.ci_low > 0


def test_effect_floor_and_direction() -> None:
    baseline, candidate = Counts(200, 100_000), Counts(300, 100_000)  # significant, +0.1 pt
    small = BaselineRule("rate", min_effect=0.005).evaluate_rate(baseline, candidate)
    assert small.classification is Classification.PASS
    assert "effect floor" in small.explanation.summary
    relative = BaselineRule("rate", min_effect=0.3, effect_scale="relative")
    assert relative.evaluate_rate(baseline, candidate).classification is Classification.FAIL
    improvement = BaselineRule("rate").evaluate_rate(candidate, baseline)
    assert improvement.classification is Classification.PASS
    down_is_bad = BaselineRule("rate", Direction.DECREASE).evaluate_rate(candidate, baseline)
    assert down_is_bad.classification is Classification.FAIL
    either = BaselineRule("rate", Direction.EITHER).evaluate_rate(candidate, baseline)
    assert either.classification is Classification.FAIL


def test_rate_no_data_and_too_few_samples() -> None:
    rule = BaselineRule("rate", min_samples=100)
    assert rule.evaluate_rate(Counts(1, 500), None).classification is Classification.NO_DATA
    assert rule.evaluate_rate(Counts(1, 500), Counts(0, 0)).classification is (
        Classification.NO_DATA
    )
    assert rule.evaluate_rate(None, Counts(1, 500)).classification is (Classification.INCONCLUSIVE)
    few = rule.evaluate_rate(Counts(0, 500), Counts(5, 20))
    assert few.classification is Classification.INCONCLUSIVE
    assert "too few samples" in few.explanation.summary


def test_zero_errors_on_both_sides_pass() -> None:
    outcome = BaselineRule("rate").evaluate_rate(Counts(0, 5000), Counts(0, 5000))
    assert outcome.classification is Classification.PASS
    assert outcome.explanation.p_value == 1.0


def test_latency_regression_fails_and_noise_passes() -> None:
    rng = np.random.default_rng(42)
    baseline = list(rng.lognormal(np.log(120), 0.2, 30))
    slower = list(rng.lognormal(np.log(160), 0.2, 30))
    same = list(rng.lognormal(np.log(120), 0.2, 30))
    rule = BaselineRule("continuous", min_effect=0.1, effect_scale="relative", min_samples=5)
    failed = rule.evaluate_continuous(baseline, slower)
    assert failed.classification is Classification.FAIL
    e = failed.explanation
    assert e.effect is not None and e.effect > 0.1
    assert e.ci_low is not None and e.ci_low > 0
    assert dict(e.extra)["rankBiserial"] is not None
    assert rule.evaluate_continuous(baseline, same).classification is Classification.PASS
    assert rule.evaluate_continuous(slower, baseline).classification is Classification.PASS


def test_continuous_small_samples_are_inconclusive() -> None:
    rule = BaselineRule("continuous", min_samples=5)
    outcome = rule.evaluate_continuous([1.0, 2.0, 3.0], [10.0, 11.0, 12.0])
    assert outcome.classification is Classification.INCONCLUSIVE
    assert rule.evaluate_continuous([1.0] * 9, []).classification is Classification.NO_DATA


def test_rule_from_mapping() -> None:
    threshold = rule_from_mapping({"threshold": "< 0.01", "noData": "fail", "aggregate": "max"})
    assert isinstance(threshold, ThresholdRule)
    assert threshold.no_data is NoDataPolicy.FAIL
    assert threshold.aggregate == "max"
    baseline = rule_from_mapping(
        {"baseline": "continuous", "alpha": 0.01, "minEffect": 0.2, "direction": "decrease"}
    )
    assert baseline == BaselineRule(
        "continuous", Direction.DECREASE, 0.01, 0.2, "relative", 1, NoDataPolicy.INCONCLUSIVE
    )
    for bad in (
        {},
        {"threshold": "< 1", "baseline": "rate"},
        {"threshold": "< 1", "alpha": 0.1},
        {"baseline": "median"},
        {"baseline": "rate", "alpha": 1.5},
        {"baseline": "rate", "minEffect": -1},
        {"baseline": "rate", "direction": "up"},
        {"threshold": "< 1", "noData": "ignore"},
    ):
        with pytest.raises(ValueError):
            rule_from_mapping(bad)
