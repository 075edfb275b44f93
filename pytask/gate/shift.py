"""Hodges-Lehmann shift estimate with the distribution-free Moses (Bauer) confidence interval.

The shift is candidate minus baseline: the median of all pairwise differences y_j - x_i.
The interval [D_(k), D_(mn+1-k)] of ordered differences inverts the Mann-Whitney test: k - 1 is
the largest U whose lower-tail probability is at most alpha/2 (exact distribution when the
test would be exact, else the normal approximation with the same tie correction).
Large samples never materialise the m*n differences: order statistics are selected by
bisection on the value with an O(m+n) two-pointer count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .mannwhitney import choose_method, exact_u_counts, u_sigma
from .normal import norm_isf
from .ranks import average_ranks

MATERIALISE_LIMIT = 250_000  # pairwise differences sorted in memory up to this many


@dataclass(frozen=True)
class ShiftEstimate:
    estimate: float  # Hodges-Lehmann: median of candidate - baseline differences
    ci_low: float  # -inf when the samples are too small for this confidence
    ci_high: float  # +inf likewise
    confidence: float
    rank_k: int  # the CI uses the k-th smallest and k-th largest differences


class _Differences:
    """Order statistics of {y_j - x_i} (1-based), materialised or selected lazily."""

    def __init__(self, baseline: Sequence[float], candidate: Sequence[float]) -> None:
        self.xs = sorted(baseline)
        self.ys = sorted(candidate)
        self.size = len(self.xs) * len(self.ys)
        self._all: list[float] | None = None
        if self.size <= MATERIALISE_LIMIT:
            self._all = sorted(y - x for y in self.ys for x in self.xs)

    def kth(self, k: int) -> float:
        if not 1 <= k <= self.size:
            raise IndexError(k)
        if self._all is not None:
            return self._all[k - 1]
        return self._select(k)

    def _count_le(self, t: float) -> int:
        # For ascending x the count of y with y - x <= t only grows, so one pass suffices.
        count, j = 0, 0
        for x in self.xs:
            while j < len(self.ys) and self.ys[j] - x <= t:
                j += 1
            count += j
        return count

    def _smallest_above(self, t: float) -> float:
        best, j = math.inf, len(self.ys)
        for x in self.xs:
            while j > 0 and self.ys[j - 1] - x > t:
                j -= 1
            if j < len(self.ys):
                best = min(best, self.ys[j] - x)
        return best

    def _select(self, k: int) -> float:
        lo = self.ys[0] - self.xs[-1]
        if self._count_le(lo) >= k:
            return lo
        hi = self.ys[-1] - self.xs[0]
        # Invariant: count(lo) < k <= count(hi); the answer lies in (lo, hi].
        while True:
            candidate = self._smallest_above(lo)
            if self._count_le(candidate) >= k:
                return candidate
            mid = lo + (hi - lo) / 2.0
            if mid <= lo or mid >= hi:
                return hi
            if self._count_le(mid) >= k:
                hi = mid
            else:
                lo = mid


def _median_of(diffs: _Differences) -> float:
    n = diffs.size
    if n % 2:
        return diffs.kth(n // 2 + 1)
    return (diffs.kth(n // 2) + diffs.kth(n // 2 + 1)) / 2.0


def moses_rank(n1: int, n2: int, confidence: float, tie_sizes: Sequence[int] = ()) -> int:
    """k for the two-sided interval; 0 means the interval is unbounded at this confidence."""
    half_alpha = (1.0 - confidence) / 2.0
    has_ties = any(t > 1 for t in tie_sizes)
    if choose_method(n1, n2, has_ties) == "exact":
        counts = exact_u_counts(n1, n2)
        limit = half_alpha * math.comb(n1 + n2, n1)
        cumulative, k = 0, 0
        for u, count in enumerate(counts):
            cumulative += count
            if cumulative > limit:
                break
            k = u + 1
        return k
    mean = n1 * n2 / 2.0
    k = math.floor(mean - norm_isf(half_alpha) * u_sigma(n1, n2, tie_sizes))
    return max(0, min(k, n1 * n2 // 2))


def hodges_lehmann(
    baseline: Sequence[float], candidate: Sequence[float], confidence: float = 0.95
) -> ShiftEstimate:
    if not baseline or not candidate:
        raise ValueError("both samples need at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    diffs = _Differences(baseline, candidate)
    _, tie_sizes = average_ranks([*baseline, *candidate])
    k = moses_rank(len(baseline), len(candidate), confidence, tie_sizes)
    low = diffs.kth(k) if k >= 1 else -math.inf
    high = diffs.kth(diffs.size + 1 - k) if k >= 1 else math.inf
    return ShiftEstimate(float(_median_of(diffs)), float(low), float(high), confidence, k)
