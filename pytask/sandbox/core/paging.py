"""ARM list paging: `{"value": [...], "nextLink": "...&$skiptoken=N"}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from pytask.sandbox.core.errors import ArmError


def page(
    items: Sequence[Any],
    base_url: str,
    path: str,
    query: Mapping[str, str],
    page_size: int,
) -> dict[str, Any]:
    """One page of `items` from the request's `$skiptoken`, with a nextLink if more remain.

    The nextLink repeats the request's own query (api-version included) so that SDK pagers,
    which follow it verbatim, keep working.
    """
    token = query.get("$skiptoken", "0")
    if not token.isdigit():
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is not valid.")
    start = int(token)
    size = page_size
    top = query.get("$top")
    if top is not None and top.isdigit() and int(top) > 0:
        size = min(size, int(top))
    body: dict[str, Any] = {"value": list(items[start : start + size])}
    if start + size < len(items):
        rest = {k: v for k, v in query.items() if k.lower() != "$skiptoken"}
        rest["$skiptoken"] = str(start + size)
        body["nextLink"] = f"{base_url}{path}?{urlencode(rest)}"
    return body
