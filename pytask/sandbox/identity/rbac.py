"""Role-based access control from the seed: built-in roles, custom roles, assignments by scope."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RoleDefinition:
    name: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()

    def allows(self, action: str) -> bool:
        return _any_match(action, self.actions) and not _any_match(action, self.not_actions)


BUILT_IN_ROLES = {
    "owner": RoleDefinition("Owner", ("*",)),
    "contributor": RoleDefinition(
        "Contributor",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    ),
    "reader": RoleDefinition("Reader", ("*/read",)),
}


def _any_match(action: str, patterns: Iterable[str]) -> bool:
    wanted = action.lower()
    return any(fnmatch.fnmatchcase(wanted, p.lower()) for p in patterns)


def role_definitions(custom: Sequence[Mapping[str, Any]]) -> dict[str, RoleDefinition]:
    roles = dict(BUILT_IN_ROLES)
    for item in custom:
        role = RoleDefinition(
            str(item["name"]),
            tuple(item.get("actions", ())),
            tuple(item.get("notActions", ())),
        )
        roles[role.name.lower()] = role
    return roles


def in_scope(resource: str, scope: str) -> bool:
    """Whether an assignment at `scope` covers `resource` (ARM scopes are hierarchical)."""
    resource_l, scope_l = resource.rstrip("/").lower(), scope.rstrip("/").lower()
    return resource_l == scope_l or resource_l.startswith(scope_l + "/")


def is_allowed(
    principal_oid: str,
    action: str,
    resource: str,
    assignments: Sequence[Mapping[str, str]],
    roles: Mapping[str, RoleDefinition],
) -> bool:
    mine = [a for a in assignments if a["principal"].lower() == principal_oid.lower()]
    if not mine:
        # A principal the seed does not constrain is Owner of the subscription (the default).
        return True
    for assignment in mine:
        role = roles.get(assignment["role"].lower())
        if role is not None and in_scope(resource, assignment["scope"]) and role.allows(action):
            return True
    return False
