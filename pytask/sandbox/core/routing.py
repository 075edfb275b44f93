"""Matching request paths against ARM path templates, case-insensitively as ARM does."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pytask.sandbox.core.provider import Provider, Route

_PLACEHOLDER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)\}")


def compile_template(template: str) -> re.Pattern[str]:
    """`/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}` -> a regex with
    one named group per placeholder; `{*rest}` captures the remainder of the path."""
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        greedy, name = match.group(1), match.group(2)
        parts.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("^" + "".join(parts) + "/?$", re.IGNORECASE)


@dataclass(frozen=True)
class CompiledRoute:
    provider: Provider
    route: Route
    pattern: re.Pattern[str]
    # More literal characters = more specific; tried first so that
    # `/resourceGroups/{rg}/resources` wins over `/resourceGroups/{rg}/{*rest}`.
    specificity: int


@dataclass(frozen=True)
class Match:
    provider: Provider
    route: Route
    params: dict[str, str]


class Router:
    def __init__(self, providers: Sequence[Provider]) -> None:
        compiled = [
            CompiledRoute(p, r, compile_template(r.template), _specificity(r.template))
            for p in providers
            for r in p.routes
        ]
        self._routes = sorted(compiled, key=lambda c: -c.specificity)

    def match(self, method: str, path: str) -> Match | None:
        """The route for this request; None if no template matches the path at all."""
        for candidate in self._routes:
            found = candidate.pattern.match(path)
            if found and candidate.route.method.upper() == method.upper():
                return Match(candidate.provider, candidate.route, found.groupdict())
        return None

    def path_known(self, path: str) -> bool:
        """Whether some route (any method) serves this path: 405 vs 404."""
        return any(c.pattern.match(path) for c in self._routes)


def _specificity(template: str) -> int:
    literal = _PLACEHOLDER.sub("", template)
    return len(literal) * 10 - template.count("{*") * 1000
