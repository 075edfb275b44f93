"""Mann-Whitney U test with scipy's `mannwhitneyu(method="auto")` semantics.

- U1 is the statistic of the first sample (x): pairs (x_i, y_j) with x_i > y_j, ties count 1/2.
- auto: the exact null distribution when either sample has at most 8 values and there are no
  ties; otherwise the normal approximation with tie correction and continuity correction.
- alternative "greater" means x is stochastically greater than y.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from .normal import norm_sf
from .ranks import average_ranks

Alternative = Literal["two-sided", "less", "greater"]
Method = Literal["auto", "exact", "asymptotic"]

EXACT_MAX_SMALLER_SAMPLE = 8


@dataclass(frozen=True)
class MannWhitneyResult:
    u1: float  # statistic of x
    u2: float  # statistic of y; u1 + u2 == n1 * n2
    p_value: float
    method: Literal["exact", "asymptotic"]
    z: float | None  # standardised statistic used for the p-value (asymptotic only)
    has_ties: bool
    tie_sizes: tuple[int, ...]

    @property
    def rank_biserial(self) -> float:
        """Effect size in [-1, 1]: P(x > y) - P(x < y)."""
        return 2.0 * self.u1 / (self.u1 + self.u2) - 1.0


@lru_cache(maxsize=64)
def exact_u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """Number of rank arrangements giving U = 0..n1*n2 (no ties).

    They are the coefficients of the Gaussian binomial [n1+n2 choose n1]_q, built as
    prod_i (1 - q^(n2+i)) / (1 - q^i); every partial product is itself a polynomial, so each
    step is one multiplication and one exact division, all in Python integers.
    """
    small, large = min(n1, n2), max(n1, n2)
    poly = [1]
    for i in range(1, small + 1):
        shift = large + i
        grown = poly + [0] * shift
        for k in range(len(poly)):
            grown[k + shift] -= poly[k]
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        poly = grown[: len(poly) + large]
    return tuple(poly)


def exact_u_sf(u: int, n1: int, n2: int) -> float:
    """P(U >= u) under the null hypothesis, exact."""
    counts = exact_u_counts(n1, n2)
    u = max(u, 0)
    upper = sum(counts[u:])
    return upper / math.comb(n1 + n2, n1)


def exact_u_cdf(u: int, n1: int, n2: int) -> float:
    """P(U <= u) under the null hypothesis, exact."""
    if u < 0:
        return 0.0
    counts = exact_u_counts(n1, n2)
    return sum(counts[: u + 1]) / math.comb(n1 + n2, n1)


def u_sigma(n1: int, n2: int, tie_sizes: Sequence[int] = ()) -> float:
    """Standard deviation of U under the null, corrected for ties."""
    n = n1 + n2
    tie_term = sum(t**3 - t for t in tie_sizes)
    variance = n1 * n2 / 12.0 * ((n + 1) - (tie_term / (n * (n - 1)) if n > 1 else 0.0))
    return math.sqrt(max(variance, 0.0))


def choose_method(n1: int, n2: int, has_ties: bool) -> Literal["exact", "asymptotic"]:
    if n1 > EXACT_MAX_SMALLER_SAMPLE and n2 > EXACT_MAX_SMALLER_SAMPLE:
        return "asymptotic"
    return "asymptotic" if has_ties else "exact"


def _asymptotic_z(u: float, n1: int, n2: int, ties: Sequence[int], continuity: bool) -> float:
    numerator = u - n1 * n2 / 2.0 - (0.5 if continuity else 0.0)
    sigma = u_sigma(n1, n2, ties)
    if sigma == 0.0:
        # Every value tied: no evidence either way (scipy yields NaN here; we say p = 1).
        return -math.inf if numerator <= 0 else math.inf
    return numerator / sigma


def mann_whitney_u(
    x: Sequence[float],
    y: Sequence[float],
    alternative: Alternative = "two-sided",
    method: Method = "auto",
    use_continuity: bool = True,
) -> MannWhitneyResult:
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    if any(math.isnan(v) for v in (*x, *y)):
        raise ValueError("samples must not contain NaN")
    ranks, tie_sizes = average_ranks([*x, *y])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    if alternative == "greater":
        u, factor = u1, 1.0
    elif alternative == "less":
        u, factor = u2, 1.0
    else:
        u, factor = max(u1, u2), 2.0
    has_ties = any(t > 1 for t in tie_sizes)
    chosen = choose_method(n1, n2, has_ties) if method == "auto" else method
    z: float | None = None
    if chosen == "exact":
        p = exact_u_sf(math.ceil(u), n1, n2)
    else:
        z = _asymptotic_z(u, n1, n2, tie_sizes, use_continuity)
        p = norm_sf(z)
    p_value = min(max(p * factor, 0.0), 1.0)
    return MannWhitneyResult(u1, u2, p_value, chosen, z, has_ties, tuple(tie_sizes))
