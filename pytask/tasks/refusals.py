"""Azure's refusal of a permission as the task's one clear error.

A 403 from ARM names the action and the scope the identity lacks; that sentence, plus which
roles the task needs (docs/installation.md), is what the person fixing the service connection
must read, not a stack trace behind "failed unexpectedly".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import HttpResponseError

from pytask.agent import TaskError

ROLES_DOC = "docs/installation.md, section 3"


@contextmanager
def permission_refusals(roles: str) -> Iterator[None]:
    """Turn a 403 that escapes the block into a TaskError naming the missing permission and
    the roles (`roles`, in words) the task needs; other errors pass through unchanged."""
    try:
        yield
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        code = exc.error.code if exc.error is not None else ""
        reason = exc.error.message if exc.error is not None and exc.error.message else exc.message
        raise TaskError(
            f"Azure answered 403 {code or exc.reason}: {reason} The connection's identity "
            f"lacks a role: it needs {roles} ({ROLES_DOC})."
        ) from None


@contextmanager
def storage_refusal(step: str, needs: str) -> Iterator[None]:
    """Azure Storage's 403 (AuthorizationPermissionMismatch) does not say which permission is
    missing, so the step that was refused says it: `step` in words, `needs` the role and its
    data action."""
    try:
        yield
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        code = getattr(exc, "error_code", None) or (exc.error.code if exc.error else "")
        raise TaskError(
            f"Azure Storage answered 403 {code or exc.reason}: the connection's identity may not "
            f"{step}. It lacks a role: it needs {needs} ({ROLES_DOC})."
        ) from None
