"""Absolute limits written the way a pipeline author says them: `< 0.01`, `<= 5`, `> 0.9`,
`== 0`, `between 0.1 and 0.5` (inclusive). The expression says what a healthy value is."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_COMPARISON = re.compile(rf"^\s*(<=|>=|==|!=|<|>)\s*({_NUMBER})\s*$")
_BETWEEN = re.compile(rf"^\s*between\s+({_NUMBER})\s+and\s+({_NUMBER})\s*$", re.IGNORECASE)
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Threshold:
    operator: str  # one of _OPERATORS or "between"
    limit: float
    upper: float | None = None  # only for "between"

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.operator == "between":
            assert self.upper is not None
            return self.limit <= value <= self.upper
        return _OPERATORS[self.operator](value, self.limit)

    def __str__(self) -> str:
        if self.operator == "between":
            return f"between {self.limit:g} and {self.upper:g}"
        return f"{self.operator} {self.limit:g}"


def parse_threshold(text: str) -> Threshold:
    match = _COMPARISON.match(text)
    if match:
        return Threshold(match.group(1), float(match.group(2)))
    match = _BETWEEN.match(text)
    if match:
        low, high = float(match.group(1)), float(match.group(2))
        if low > high:
            raise ValueError(f"threshold {text!r}: lower bound is above the upper bound")
        return Threshold("between", low, high)
    raise ValueError(
        f"threshold {text!r} is not understood; write e.g. '< 0.01', '<= 5', '> 0.9' "
        "or 'between 0.1 and 0.5'"
    )
