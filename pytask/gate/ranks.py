"""Average ranks with tie groups, the common ground of the rank tests."""

from __future__ import annotations

from collections.abc import Sequence


def average_ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Ranks 1..n in input order (ties share their mean rank) and the size of every tie group."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    tie_sizes: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        mean_rank = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            ranks[order[position]] = mean_rank
        tie_sizes.append(end - start + 1)
        start = end + 1
    return ranks, tie_sizes


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of an empty sample")
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0
