"""Hodges-Lehmann shift and its Moses confidence interval."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from pytask.gate import shift as shift_module
from pytask.gate.shift import hodges_lehmann, moses_rank


def _pairwise(base: list[float], cand: list[float]) -> np.ndarray:
    return np.sort(np.subtract.outer(np.asarray(cand), np.asarray(base)).ravel())


def test_estimate_is_the_median_of_pairwise_differences() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        base = list(rng.normal(100, 10, int(rng.integers(1, 40))))
        cand = list(rng.normal(104, 10, int(rng.integers(1, 40))))
        assert hodges_lehmann(base, cand).estimate == pytest.approx(
            float(np.median(_pairwise(base, cand))), rel=1e-12
        )


def test_large_samples_select_without_materialising(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    base = list(rng.integers(0, 30, 300) * 1.0)  # heavy ties
    cand = list(rng.normal(3, 8, 250))
    expected = hodges_lehmann(base, cand)
    monkeypatch.setattr(shift_module, "MATERIALISE_LIMIT", 0)
    assert hodges_lehmann(base, cand) == expected


def test_exact_interval_inverts_the_exact_test() -> None:
    # Every shift strictly inside the 95 % interval is accepted by scipy's exact two-sided
    # test at 5 %; every shift outside is rejected (checked between consecutive differences).
    rng = np.random.default_rng(3)
    for _ in range(30):
        base = list(rng.choice(1000, size=int(rng.integers(3, 8)), replace=False) * 1.0)
        cand = list(rng.choice(1000, size=int(rng.integers(3, 12)), replace=False) * 1.0 + 0.25)
        interval = hodges_lehmann(base, cand, 0.95)
        diffs = np.unique(_pairwise(base, cand))
        for d in (diffs[:-1] + diffs[1:]) / 2:
            p = mannwhitneyu([c - d for c in cand], base, method="exact").pvalue
            inside = interval.ci_low < d < interval.ci_high
            assert (p > 0.05) == inside, (base, cand, d, p, interval)


def test_normal_approximation_rank() -> None:
    # Hollander & Wolfe's large-sample C_alpha = mn/2 - z * sqrt(mn(m+n+1)/12).
    m, n = 40, 50
    expected = math.floor(m * n / 2 - 1.959963984540054 * math.sqrt(m * n * (m + n + 1) / 12))
    assert moses_rank(m, n, 0.95) == expected


def test_tiny_samples_give_an_unbounded_interval() -> None:
    result = hodges_lehmann([1.0, 2.0], [5.0, 6.0], 0.95)
    assert result.estimate == 4.0
    assert (result.ci_low, result.ci_high) == (-math.inf, math.inf)


def test_identical_samples_have_zero_shift() -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]
    result = hodges_lehmann(values, values)
    assert result.estimate == 0.0
    assert result.ci_low <= 0.0 <= result.ci_high


samples = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=25)


@given(samples, samples, st.floats(0.5, 0.99))
@settings(max_examples=150, deadline=None)
def test_interval_contains_the_estimate(base: list[float], cand: list[float], conf: float) -> None:
    result = hodges_lehmann(base, cand, conf)
    assert result.ci_low <= result.estimate <= result.ci_high


@given(samples, samples, st.integers(-100, 100))
@settings(max_examples=100, deadline=None)
def test_shift_is_equivariant(base: list[float], cand: list[float], delta: int) -> None:
    before = hodges_lehmann(base, cand).estimate
    after = hodges_lehmann(base, [c + delta for c in cand]).estimate
    assert after == pytest.approx(before + delta, abs=1e-9)


@given(samples, samples)
@settings(max_examples=100, deadline=None)
def test_swapping_samples_negates_the_shift(base: list[float], cand: list[float]) -> None:
    assert hodges_lehmann(cand, base).estimate == pytest.approx(
        -hodges_lehmann(base, cand).estimate, abs=1e-9
    )
