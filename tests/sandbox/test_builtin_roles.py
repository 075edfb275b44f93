"""The built-in roles docs/installation.md recommends, as the sandbox defines them: what each
grants and, as much to the point, what it does not."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from pytask.agent import TaskError
from pytask.sandbox.identity.rbac import is_allowed, role_definitions
from pytask.tasks.refusals import permission_refusals

RG = "/subscriptions/s1/resourceGroups/rg"
VM = f"{RG}/providers/Microsoft.Compute/virtualMachines/vm1"
GALLERY = f"{RG}/providers/Microsoft.Compute/galleries/g1"
LAB = f"{RG}/providers/Microsoft.DevTestLab/labs/lab1"
WORKSPACE = f"{RG}/providers/Microsoft.OperationalInsights/workspaces/law"


def allowed(role: str, action: str, resource: str) -> bool:
    assignments = [{"principal": "p", "role": role, "scope": RG}]
    return is_allowed("p", action, resource, assignments, role_definitions([]))


@pytest.mark.parametrize(
    ("role", "action", "resource", "expected"),
    [
        ("Virtual Machine Contributor", "Microsoft.Compute/virtualMachines/write", VM, True),
        ("Virtual Machine Contributor", "Microsoft.Compute/virtualMachineScaleSets/"
         "manualUpgrade/action", VM, True),
        ("Virtual Machine Contributor", "Microsoft.Compute/galleries/read", GALLERY, False),
        ("DevTest Labs User", "Microsoft.DevTestLab/labs/read", LAB, True),
        ("DevTest Labs User", "Microsoft.DevTestLab/labs/createEnvironment/action", LAB, True),
        ("DevTest Labs User", "Microsoft.DevTestLab/labs/users/environments/write", LAB, False),
        ("DevTest Labs User", "Microsoft.Compute/virtualMachines/vmSizes/read", VM, False),
        ("Log Analytics Reader", "Microsoft.OperationalInsights/workspaces/query/read",
         WORKSPACE, True),
        ("Log Analytics Reader", "Microsoft.OperationalInsights/workspaces/sharedKeys/read",
         WORKSPACE, False),
        ("Monitoring Reader", "Microsoft.Insights/metrics/read", VM, True),
        ("Monitoring Reader", "Microsoft.Compute/virtualMachines/write", VM, False),
        ("Storage Blob Delegator", "Microsoft.Storage/storageAccounts/blobServices/"
         "generateUserDelegationKey/action", RG, True),
        ("Storage Blob Delegator", "Microsoft.Storage/storageAccounts/read", RG, False),
    ],
)  # fmt: skip
def test_built_in_role_grants(role: str, action: str, resource: str, expected: bool) -> None:
    assert allowed(role, action, resource) is expected


def test_a_403_becomes_one_error_naming_action_and_roles() -> None:
    refused = HttpResponseError(message="does not have authorization to perform action 'x/read'")
    refused.status_code = 403
    with pytest.raises(TaskError) as raised, permission_refusals("Reader on the thing"):
        raise refused
    assert "403" in str(raised.value) and "'x/read'" in str(raised.value)
    assert "Reader on the thing" in str(raised.value)


def test_other_errors_pass_through() -> None:
    other = HttpResponseError(message="busy")
    other.status_code = 500
    with pytest.raises(HttpResponseError), permission_refusals("Reader"):
        raise other
