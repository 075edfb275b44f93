"""The `$filter` subset ARM's resource list supports and our clients use:
`resourceType eq 'X'`, `name eq 'X'`, `resourceGroup eq 'X'` (what `az resource list -g`
sends), `location eq 'X'`, `tagName eq 'K'`, `tagName eq 'K' and tagValue eq 'V'`
(clauses joined by `and`; comparisons case-insensitive as ARM's are)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pytask.sandbox.core.errors import ArmError

_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)

Predicate = Callable[[dict[str, Any]], bool]


def parse_filter(text: str | None) -> Predicate:
    if not text:
        return lambda _doc: True
    terms: dict[str, str] = {}
    for clause in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if match is None:
            raise ArmError(400, "InvalidFilterInQueryString", f"Invalid $filter '{text}'.")
        terms[match.group(1).lower()] = match.group(2).replace("''", "'")
    unknown = set(terms) - {
        "resourcetype",
        "name",
        "resourcegroup",
        "location",
        "tagname",
        "tagvalue",
    }
    if unknown or ("tagvalue" in terms and "tagname" not in terms):
        raise ArmError(400, "InvalidFilterInQueryString", f"Invalid $filter '{text}'.")

    def predicate(doc: dict[str, Any]) -> bool:
        if "resourcetype" in terms and doc.get("type", "").lower() != terms["resourcetype"].lower():
            return False
        if "name" in terms and doc.get("name", "").lower() != terms["name"].lower():
            return False
        if "resourcegroup" in terms and _group(doc) != terms["resourcegroup"].lower():
            return False
        if "location" in terms and doc.get("location", "").lower() != terms["location"].lower():
            return False
        if "tagname" in terms:
            tags = {k.lower(): v for k, v in (doc.get("tags") or {}).items()}
            if terms["tagname"].lower() not in tags:
                return False
            if "tagvalue" in terms and tags[terms["tagname"].lower()] != terms["tagvalue"]:
                return False
        return True

    return predicate


def _group(doc: dict[str, Any]) -> str:
    parts = str(doc.get("id", "")).split("/")
    lowered = [p.lower() for p in parts]
    if "resourcegroups" not in lowered:
        return ""
    return parts[lowered.index("resourcegroups") + 1].lower()
