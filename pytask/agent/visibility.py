"""task.json `visibleRule`s: an input hidden by its rule is not required.

The grammar is the one the Azure DevOps task editor understands: clauses
`name <op> value` joined by `&&` or by `||` (not both in one rule). Comparisons are
case-insensitive. A rule we cannot parse counts as visible, so it can only make validation
stricter, never skip it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_WORD_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "notcontains": lambda a, b: b not in a,
    "contains": lambda a, b: b in a,
    "notstartswith": lambda a, b: not a.startswith(b),
    "startswith": lambda a, b: a.startswith(b),
    "notendswith": lambda a, b: not a.endswith(b),
    "endswith": lambda a, b: a.endswith(b),
}
_SYMBOL_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<=": lambda a, b: _compare(a, b) <= 0,
    ">=": lambda a, b: _compare(a, b) >= 0,
    "=": lambda a, b: a == b,
    "<": lambda a, b: _compare(a, b) < 0,
    ">": lambda a, b: _compare(a, b) > 0,
}
_CLAUSE = re.compile(
    r"^\s*(?P<name>[A-Za-z][A-Za-z0-9_.]*)\s*"
    r"(?P<op>==|!=|<=|>=|=|<|>|\s(?:NotContains|Contains|NotStartsWith|StartsWith|"
    r"NotEndsWith|EndsWith)\s)\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)


def is_visible(rule: str, values: Mapping[str, str]) -> bool:
    """Evaluate `rule` against input values keyed by lower-cased input name."""
    rule = rule.strip()
    if not rule:
        return True
    if "&&" in rule and "||" in rule:
        return True
    if "||" in rule:
        return any(_clause(part, values) for part in rule.split("||"))
    return all(_clause(part, values) for part in rule.split("&&"))


def _clause(text: str, values: Mapping[str, str]) -> bool:
    match = _CLAUSE.match(text)
    if not match:
        return True
    op = match["op"].strip().lower()
    actual = values.get(match["name"].lower(), "").lower()
    expected = match["value"].strip().strip("\"'").lower()
    check = _WORD_OPERATORS.get(op) or _SYMBOL_OPERATORS[op]
    return check(actual, expected)


def _compare(a: str, b: str) -> int:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return (a > b) - (a < b)
    return (x > y) - (x < y)
