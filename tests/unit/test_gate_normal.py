"""The gate's own normal distribution against scipy.stats.norm."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from pytask.gate.normal import norm_cdf, norm_isf, norm_pdf, norm_ppf, norm_sf


@pytest.mark.parametrize("x", [-37.5, -20.0, -8.0, -3.0, -1.0, 0.0, 0.5, 1.96, 5.0, 9.0])
def test_cdf_and_sf_match_scipy_including_tails(x: float) -> None:
    assert norm_cdf(x) == pytest.approx(norm.cdf(x), rel=1e-9, abs=0)
    assert norm_sf(x) == pytest.approx(norm.sf(x), rel=1e-9, abs=0)
    assert norm_pdf(x) == pytest.approx(norm.pdf(x), rel=1e-12)


def test_ppf_matches_scipy_over_the_whole_range() -> None:
    probabilities = np.concatenate(
        [np.logspace(-300, -2, 300), np.linspace(0.01, 0.99, 197), 1 - np.logspace(-15, -2, 100)]
    )
    for p in probabilities:
        expected = norm.ppf(p)
        assert norm_ppf(float(p)) == pytest.approx(expected, rel=1e-12, abs=1e-12), p


def test_ppf_edges_and_invalid_input() -> None:
    assert norm_ppf(0.0) == -math.inf
    assert norm_ppf(1.0) == math.inf
    assert norm_ppf(0.5) == 0.0
    assert norm_isf(0.025) == pytest.approx(1.959963984540054, rel=1e-14)
    for bad in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError):
            norm_ppf(bad)


@given(st.floats(min_value=1e-12, max_value=1 - 1e-12))
def test_ppf_inverts_cdf(p: float) -> None:
    assert norm_cdf(norm_ppf(p)) == pytest.approx(p, rel=1e-9)
