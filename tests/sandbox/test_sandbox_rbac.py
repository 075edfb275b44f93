"""RBAC rules of the sandbox: built-in and custom roles, hierarchical scopes."""

from __future__ import annotations

from pytask.sandbox.identity.rbac import in_scope, is_allowed, role_definitions

SUB = "/subscriptions/s1"
RG = f"{SUB}/resourceGroups/rg-apps"
GALLERY = f"{RG}/providers/Microsoft.Compute/galleries/g1"


def test_scopes_are_hierarchical_and_case_insensitive() -> None:
    assert in_scope(GALLERY, SUB)
    assert in_scope(GALLERY.upper(), RG)
    assert not in_scope(f"{SUB}/resourceGroups/rg-apps2", RG)


def test_unassigned_principal_is_owner_and_assignments_constrain() -> None:
    roles = role_definitions(
        [
            {
                "name": "Gallery Publisher",
                "actions": ["Microsoft.Compute/galleries/*"],
                "notActions": ["Microsoft.Compute/galleries/delete"],
            }
        ]
    )
    assignments = [
        {"principal": "reader", "role": "Reader", "scope": SUB},
        {"principal": "publisher", "role": "Gallery Publisher", "scope": RG},
        {"principal": "contrib", "role": "Contributor", "scope": RG},
    ]
    write = "Microsoft.Compute/galleries/write"
    assert is_allowed("anyone-else", write, GALLERY, assignments, roles)
    assert is_allowed("reader", "Microsoft.Compute/galleries/read", GALLERY, assignments, roles)
    assert not is_allowed("reader", write, GALLERY, assignments, roles)
    assert is_allowed("publisher", write, GALLERY, assignments, roles)
    assert not is_allowed(
        "publisher", "Microsoft.Compute/galleries/delete", GALLERY, assignments, roles
    )
    assert not is_allowed("publisher", write, f"{SUB}/resourceGroups/other", assignments, roles)
    role_write = "Microsoft.Authorization/roleAssignments/write"
    assert is_allowed("contrib", write, GALLERY, assignments, roles)
    assert not is_allowed("contrib", role_write, GALLERY, assignments, roles)
