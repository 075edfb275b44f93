"""Two-proportion comparison against scipy (norm, fisher_exact, binomtest) and Newcombe."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, fisher_exact, norm

from pytask.gate.proportions import (
    Counts,
    compare_proportions,
    fisher_exact_p,
    newcombe_interval,
    wilson_interval,
    z_test_valid,
)

ALTERNATIVES = ("two-sided", "less", "greater")


def _pooled_z_reference(base: Counts, cand: Counts) -> float:
    # The textbook pooled two-proportion z statistic (statsmodels' proportions_ztest), numpy.
    x = np.array([cand.events, base.events], dtype=float)
    n = np.array([cand.trials, base.trials], dtype=float)
    p = x.sum() / n.sum()
    return float((x[0] / n[0] - x[1] / n[1]) / np.sqrt(p * (1 - p) * (1 / n[0] + 1 / n[1])))


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_z_test_matches_reference(alternative: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        base = Counts(int(rng.integers(10, 200)), 1000)
        cand = Counts(int(rng.integers(10, 200)), int(rng.integers(500, 3000)))
        result = compare_proportions(base, cand, alternative)  # type: ignore[arg-type]
        assert result.method == "z"
        z = _pooled_z_reference(base, cand)
        expected = {
            "greater": norm.sf(z),
            "less": norm.cdf(z),
            "two-sided": 2 * norm.sf(abs(z)),
        }[alternative]
        assert result.z == pytest.approx(z, rel=1e-12)
        assert result.p_value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_fisher_matches_scipy_including_zero_counts(alternative: str) -> None:
    rng = np.random.default_rng(2)
    tables = [(0, 10, 0, 10), (0, 1, 1, 1), (0, 1000, 3, 1000), (5, 5, 0, 7), (1, 1, 1, 1)]
    for _ in range(300):
        nb, nc = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        tables.append((int(rng.integers(0, nb + 1)), nb, int(rng.integers(0, nc + 1)), nc))
    for be, bn, ce, cn in tables:
        table = [[ce, cn - ce], [be, bn - be]]
        expected = fisher_exact(table, alternative=alternative).pvalue
        got = fisher_exact_p(Counts(be, bn), Counts(ce, cn), alternative)  # type: ignore[arg-type]
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-14), table


def test_small_or_zero_counts_use_fisher() -> None:
    assert not z_test_valid(Counts(0, 1000), Counts(3, 1000))
    assert not z_test_valid(Counts(2, 5), Counts(4, 6))
    assert z_test_valid(Counts(50, 1000), Counts(70, 1000))
    both_zero = compare_proportions(Counts(0, 500), Counts(0, 500), "greater")
    assert both_zero.method == "fisher"
    assert both_zero.p_value == 1.0
    assert both_zero.relative_risk is None
    only_candidate = compare_proportions(Counts(0, 500), Counts(9, 500), "greater")
    assert only_candidate.relative_risk == math.inf
    assert only_candidate.p_value < 0.01


def test_wilson_matches_scipy() -> None:
    for events, trials in [(0, 10), (10, 10), (3, 17), (250, 1000), (1, 1)]:
        expected = binomtest(events, trials).proportion_ci(0.95, method="wilson")
        low, high = wilson_interval(Counts(events, trials), 0.95)
        assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_newcombe_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II: 56/70 - 48/80,
    # method 10 (score, no continuity correction): 0.0524 to 0.3339.
    low, high = newcombe_interval(Counts(48, 80), Counts(56, 70), 0.95)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


counts = st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts, counts)
@settings(max_examples=200, deadline=None)
def test_properties(base_t: tuple[int, int], cand_t: tuple[int, int]) -> None:
    base, cand = Counts(*base_t), Counts(*cand_t)
    result = compare_proportions(base, cand, "two-sided")
    mirrored = compare_proportions(cand, base, "two-sided")
    assert 0.0 <= result.p_value <= 1.0
    assert result.p_value == pytest.approx(mirrored.p_value, rel=1e-9)
    assert -1.0 <= result.ci_low <= result.difference <= result.ci_high <= 1.0
    greater = compare_proportions(base, cand, "greater").p_value
    less = compare_proportions(base, cand, "less").p_value
    assert greater + less >= 1.0 - 1e-9  # the two one-sided tails overlap at the observation
