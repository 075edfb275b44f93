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


def _built_in(role: RoleDefinition) -> None:
    BUILT_IN_ROLES[role.name.lower()] = role


# The built-in roles docs/installation.md recommends, with the Actions of Azure's published
# definitions (the providers the sandbox has no surface for are left out: they grant nothing
# here either way). DataActions of the storage roles live in providers/storage/dataroles.py.
_STORAGE_CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
_DELEGATION_KEY = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
_built_in(
    RoleDefinition(
        "Virtual Machine Contributor",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Compute/availabilitySets/*",
            "Microsoft.Compute/locations/*",
            "Microsoft.Compute/virtualMachines/*",
            "Microsoft.Compute/virtualMachineScaleSets/*",
            "Microsoft.Compute/cloudServices/*",
            "Microsoft.Compute/disks/write",
            "Microsoft.Compute/disks/read",
            "Microsoft.Compute/disks/delete",
            "Microsoft.DevTestLab/schedules/*",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/locations/*",
            "Microsoft.Network/networkInterfaces/*",
            "Microsoft.Network/networkSecurityGroups/join/action",
            "Microsoft.Network/networkSecurityGroups/read",
            "Microsoft.Network/publicIPAddresses/join/action",
            "Microsoft.Network/publicIPAddresses/read",
            "Microsoft.Network/virtualNetworks/read",
            "Microsoft.Network/virtualNetworks/subnets/join/action",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Storage/storageAccounts/listKeys/action",
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Support/*",
        ),
    )
)
_built_in(
    RoleDefinition(
        "DevTest Labs User",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Compute/availabilitySets/read",
            "Microsoft.Compute/virtualMachines/*/read",
            "Microsoft.Compute/virtualMachines/deallocate/action",
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/restart/action",
            "Microsoft.Compute/virtualMachines/start/action",
            "Microsoft.DevTestLab/*/read",
            "Microsoft.DevTestLab/labs/claimAnyVm/action",
            "Microsoft.DevTestLab/labs/createEnvironment/action",
            "Microsoft.DevTestLab/labs/ensureCurrentUserProfile/action",
            "Microsoft.DevTestLab/labs/formulas/delete",
            "Microsoft.DevTestLab/labs/formulas/read",
            "Microsoft.DevTestLab/labs/formulas/write",
            "Microsoft.DevTestLab/labs/policySets/evaluatePolicies/action",
            "Microsoft.DevTestLab/labs/virtualMachines/claim/action",
            "Microsoft.DevTestLab/labs/virtualmachines/listApplicableSchedules/action",
            "Microsoft.DevTestLab/labs/virtualMachines/getRdpFileContents/action",
            "Microsoft.Network/networkInterfaces/*/read",
            "Microsoft.Network/networkInterfaces/join/action",
            "Microsoft.Network/networkInterfaces/read",
            "Microsoft.Network/networkInterfaces/write",
            "Microsoft.Network/publicIPAddresses/*/read",
            "Microsoft.Network/publicIPAddresses/join/action",
            "Microsoft.Network/publicIPAddresses/read",
            "Microsoft.Network/virtualNetworks/subnets/join/action",
            "Microsoft.Resources/deployments/operations/read",
            "Microsoft.Resources/deployments/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Storage/storageAccounts/listKeys/action",
        ),
        ("Microsoft.Compute/virtualMachines/vmSizes/read",),
    )
)
_built_in(
    RoleDefinition(
        "Log Analytics Reader",
        (
            "*/read",
            "Microsoft.OperationalInsights/workspaces/analytics/query/action",
            "Microsoft.OperationalInsights/workspaces/search/action",
            "Microsoft.Support/*",
        ),
        ("Microsoft.OperationalInsights/workspaces/sharedKeys/read",),
    )
)
_built_in(
    RoleDefinition(
        "Monitoring Reader",
        ("*/read", "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"),
    )
)
_built_in(
    RoleDefinition(
        "Storage Blob Data Contributor",
        (
            f"{_STORAGE_CONTAINERS}/delete",
            f"{_STORAGE_CONTAINERS}/read",
            f"{_STORAGE_CONTAINERS}/write",
            _DELEGATION_KEY,
        ),
    )
)
_built_in(RoleDefinition("Storage Blob Data Owner", (f"{_STORAGE_CONTAINERS}/*", _DELEGATION_KEY)))
_built_in(
    RoleDefinition("Storage Blob Data Reader", (f"{_STORAGE_CONTAINERS}/read", _DELEGATION_KEY))
)
_built_in(RoleDefinition("Storage Blob Delegator", (_DELEGATION_KEY,)))


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
