"""Who may do what on the blob data plane: the seeded role assignments, with the data actions
Azure's roles carry.

Azure authorizes an Entra request to Blob Storage against the caller's role assignments:
container operations need an *action* (`.../blobServices/containers/write`), blob operations a
*data action* (`.../containers/blobs/read`). Owner, Contributor and Reader have no data actions,
so an identity with only those roles cannot read or write blobs with its token, which is the
mistake this lets tests catch. As with ARM in the sandbox, a principal without any role
assignment is unconstrained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.identity.rbac import BUILT_IN_ROLES

_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
_DELEGATION_KEY = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"


@dataclass(frozen=True)
class Grant:
    """One role assignment as the blob gate evaluates it."""

    scope: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "actions": list(self.actions),
            "notActions": list(self.not_actions),
            "dataActions": list(self.data_actions),
            "notDataActions": list(self.not_data_actions),
        }


# The built-in storage data roles (their Actions and DataActions as Azure defines them).
DATA_ROLES: dict[str, Grant] = {
    "storage blob data owner": Grant(
        "", (f"{_CONTAINERS}/*", _DELEGATION_KEY), (), (f"{_BLOBS}/*",)
    ),
    "storage blob data contributor": Grant(
        "",
        (
            f"{_CONTAINERS}/delete",
            f"{_CONTAINERS}/read",
            f"{_CONTAINERS}/write",
            _DELEGATION_KEY,
        ),
        (),
        (
            f"{_BLOBS}/delete",
            f"{_BLOBS}/read",
            f"{_BLOBS}/write",
            f"{_BLOBS}/move/action",
            f"{_BLOBS}/add/action",
        ),
    ),
    "storage blob data reader": Grant(
        "", (f"{_CONTAINERS}/read", _DELEGATION_KEY), (), (f"{_BLOBS}/read",)
    ),
    "storage blob delegator": Grant("", (_DELEGATION_KEY,)),
}


def _role(name: str, custom: Sequence[Mapping[str, Any]]) -> Grant | None:
    for item in custom:
        if str(item.get("name", "")).lower() == name.lower():
            return Grant(
                "",
                tuple(item.get("actions", ())),
                tuple(item.get("notActions", ())),
                tuple(item.get("dataActions", ())),
                tuple(item.get("notDataActions", ())),
            )
    if name.lower() in DATA_ROLES:
        return DATA_ROLES[name.lower()]
    core = BUILT_IN_ROLES.get(name.lower())
    if core is not None:  # Owner, Contributor, Reader: actions only, no data actions
        return Grant("", core.actions, core.not_actions)
    return None


def grants(
    assignments: Sequence[Mapping[str, str]], custom_roles: Sequence[Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Constrained principals (object id, lower-cased) -> what each assignment grants."""
    result: dict[str, list[dict[str, Any]]] = {}
    for assignment in assignments:
        principal = assignment["principal"].lower()
        role = _role(assignment["role"], custom_roles)
        granted = result.setdefault(principal, [])  # assigned, even to an unknown role
        if role is not None:
            scoped = Grant(
                assignment["scope"],
                role.actions,
                role.not_actions,
                role.data_actions,
                role.not_data_actions,
            )
            granted.append(scoped.to_json())
    return result
