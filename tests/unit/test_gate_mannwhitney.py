"""Mann-Whitney U against scipy.stats.mannwhitneyu(method="auto") on generated data."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from pytask.gate.mannwhitney import exact_u_cdf, exact_u_counts, exact_u_sf, mann_whitney_u

ALTERNATIVES = ("two-sided", "less", "greater")


def _cases() -> list[tuple[list[float], list[float]]]:
    rng = np.random.default_rng(20261126)
    cases = []
    for _ in range(150):
        n1, n2 = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        cases.append((list(rng.normal(0, 1, n1)), list(rng.normal(0.7, 1, n2))))  # no ties
        cases.append((list(rng.integers(0, 4, n1) * 1.0), list(rng.integers(0, 5, n2) * 1.0)))
    for n1, n2 in [(30, 40), (8, 200), (200, 8), (9, 9), (60, 5)]:
        cases.append((list(rng.exponential(1, n1)), list(rng.exponential(1.4, n2))))
        cases.append((list(rng.integers(0, 10, n1) * 1.0), list(rng.integers(2, 12, n2) * 1.0)))
    cases.append(([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]))  # identical, tied
    cases.append(([5.0], [7.0]))  # smallest possible
    return cases


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_matches_scipy_auto(alternative: str) -> None:
    for x, y in _cases():
        expected = mannwhitneyu(x, y, alternative=alternative, method="auto")
        got = mann_whitney_u(x, y, alternative)  # type: ignore[arg-type]
        assert got.u1 == expected.statistic
        if math.isnan(expected.pvalue):
            continue
        assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15), (x, y)


@pytest.mark.parametrize("method", ["exact", "asymptotic"])
def test_matches_scipy_forced_methods(method: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        x = list(rng.normal(0, 1, int(rng.integers(1, 15))))
        y = list(rng.normal(0.3, 1, int(rng.integers(1, 15))))
        for alternative in ALTERNATIVES:
            expected = mannwhitneyu(x, y, alternative=alternative, method=method)
            got = mann_whitney_u(x, y, alternative, method)  # type: ignore[arg-type]
            assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


def test_method_choice_follows_scipy() -> None:
    assert mann_whitney_u([1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]).method == "exact"
    assert mann_whitney_u([1, 2, 2], [4, 5, 6]).method == "asymptotic"  # ties
    assert mann_whitney_u(list(range(9)), list(range(20, 29))).method == "asymptotic"


def test_all_values_tied_is_no_evidence() -> None:
    result = mann_whitney_u([3.0] * 12, [3.0] * 15)
    assert result.p_value == 1.0
    assert result.rank_biserial == 0.0


def test_exact_distribution_is_a_distribution() -> None:
    for n1, n2 in [(1, 1), (3, 5), (8, 8), (4, 30)]:
        counts = exact_u_counts(n1, n2)
        assert len(counts) == n1 * n2 + 1
        assert sum(counts) == math.comb(n1 + n2, n1)
        assert counts == counts[::-1]  # symmetric about n1*n2/2
        assert exact_u_sf(0, n1, n2) == 1.0
        assert exact_u_cdf(n1 * n2, n1, n2) == 1.0


def test_rejects_empty_and_nan() -> None:
    with pytest.raises(ValueError):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError):
        mann_whitney_u([math.nan], [1.0])


samples = st.lists(st.integers(-20, 20).map(float), min_size=1, max_size=14)


@given(samples, samples)
@settings(max_examples=150, deadline=None)
def test_properties_symmetry_and_range(x: list[float], y: list[float]) -> None:
    forward = mann_whitney_u(x, y, "greater")
    backward = mann_whitney_u(y, x, "less")
    assert 0.0 <= forward.p_value <= 1.0
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-12)
    assert forward.u1 + forward.u2 == len(x) * len(y)
    two = mann_whitney_u(x, y).p_value
    assert two == pytest.approx(mann_whitney_u(y, x).p_value, rel=1e-12)
    assert -1.0 <= forward.rank_biserial <= 1.0


@given(st.sets(st.integers(-50, 50), min_size=2, max_size=30), st.integers(0, 30))
@settings(max_examples=150, deadline=None)
def test_shifting_x_up_never_raises_the_greater_p_value(values: set[int], delta: int) -> None:
    # Distinct values and a half-integer shift: no ties before or after, so the same method
    # applies to both and only U1 moves.
    ordered = sorted(float(v) for v in values)
    x, y = ordered[::2], ordered[1::2]
    before = mann_whitney_u(x, y, "greater")
    after = mann_whitney_u([v + delta + 0.5 for v in x], y, "greater")
    assert before.method == after.method
    assert after.u1 >= before.u1
    assert after.p_value <= before.p_value + 1e-12
