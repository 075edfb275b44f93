"""Resource etags and the If-Match / If-None-Match preconditions ARM honours."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from pytask.sandbox.core.errors import ArmError


def new_etag() -> str:
    """A fresh strong etag, quoted as ARM resource providers return it."""
    return f'"{uuid.uuid4()}"'


def _matches(header: str, etag: str | None) -> bool:
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or (etag is not None and etag in tags)


def check_preconditions(headers: Mapping[str, str], current_etag: str | None, exists: bool) -> None:
    """Raise 412 PreconditionFailed when If-Match / If-None-Match rule the write out.

    `headers` must be case-insensitive (the request context's are). `current_etag` is the
    stored resource's etag, `exists` whether the resource exists at all.
    """
    if_match = headers.get("if-match")
    if if_match is not None and (not exists or not _matches(if_match, current_etag)):
        raise ArmError(
            412,
            "PreconditionFailed",
            "The specified precondition 'If-Match' failed: the resource "
            + ("does not exist." if not exists else "has been modified (etag mismatch)."),
        )
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and exists and _matches(if_none_match, current_etag):
        raise ArmError(
            412,
            "PreconditionFailed",
            "The specified precondition 'If-None-Match' failed: the resource already exists.",
        )
