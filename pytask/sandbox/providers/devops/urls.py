"""Routes of the Azure DevOps REST surface and its seed section.

Seed (`devops:` in the world YAML)::

    devops:
      users:        [{name: Alice, email: alice@contoso.com, pat: alice-pat}]
      environments: [{name: prod, approvers: [alice@contoso.com], minRequiredApprovers: 1,
                      requesterCannotBeApprover: true}]
      runs:         [{runId: 42, pipeline: vm-app-release, stage: prod, environment: prod,
                      requestedBy: bob@contoso.com, gateResults: {test: succeeded}}]

A run waits at `stage` with one pending approval per Approval check of its environment; the
stages before it carry a HealthGate task with the given result in the run's timeline.
"""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core import Provider, Route
from pytask.sandbox.core.cloud import DEVOPS_ORGANIZATION, DEVOPS_PROJECT
from pytask.sandbox.core.provider import Seeder
from pytask.sandbox.identity.state import identity

from . import models, responses

ORG = "/{organization}"
PROJECT = ORG + "/{project}/_apis"
ENVIRONMENTS = PROJECT + "/distributedtask/environments"
CHECKS = PROJECT + "/pipelines/checks/configurations"
APPROVALS = PROJECT + "/pipelines/approvals"


def _route(method: str, template: str, handler: Any, operation: str) -> Route:
    return Route(method, template, handler, operation=operation, auth="none")


def seed(seeder: Seeder, spec: Any) -> None:
    world = seeder.world
    spec = spec or {}
    for user in spec.get("users", []):
        models.add_user(world, user["name"], user["email"], user.get("pat"))
    admin = models.add_user(
        world, f"{models.BUILD_SERVICE} ({DEVOPS_ORGANIZATION})", f"build@{DEVOPS_ORGANIZATION}"
    )
    project = {"id": identity(world).devops_project_id, "name": DEVOPS_PROJECT}
    for env in spec.get("environments", []):
        created = models.add_environment(
            world, project, env["name"], env.get("description", ""), admin
        )
        approvers = [
            models.identity_ref(u)
            for email in env.get("approvers", [])
            for u in models.search_identities(world, email)
        ]
        if approvers:
            settings = {
                "approvers": approvers,
                "minRequiredApprovers": int(env.get("minRequiredApprovers", 1)),
                "requesterCannotBeApprover": bool(env.get("requesterCannotBeApprover", True)),
                "executionOrder": "anyOrder",
                "instructions": env.get("instructions", ""),
                "blockedApprovers": [],
            }
            body = {
                "type": models.APPROVAL_CHECK,
                "settings": settings,
                "resource": {"type": "environment", "id": str(created["id"]), "name": env["name"]},
                "timeout": 43200,
            }
            models.add_check(world, body, admin)
    for run in spec.get("runs", []):
        models.queue_run(world, run)


PROVIDER = Provider(
    namespace=models.NAMESPACE,
    initial_state=models.initial_state,
    seed_key="devops",
    seed=seed,
    seed_order=90,
    routes=[
        _route("OPTIONS", ORG + "/_apis", responses.options, "Locations_Options"),
        _route("GET", ORG + "/_apis/ResourceAreas", responses.resource_areas, "ResourceAreas_List"),
        _route("GET", ORG + "/_apis/Identities", responses.read_identities, "Identities_Read"),
        _route("GET", ENVIRONMENTS, responses.list_environments, "Environments_List"),
        _route("POST", ENVIRONMENTS, responses.add_environment, "Environments_Add"),
        _route(
            "GET", ENVIRONMENTS + "/{environmentId}", responses.get_environment, "Environments_Get"
        ),
        _route(
            "DELETE",
            ENVIRONMENTS + "/{environmentId}",
            responses.delete_environment,
            "Environments_Delete",
        ),
        _route("GET", CHECKS, responses.list_checks, "CheckConfigurations_List"),
        _route("POST", CHECKS, responses.add_check, "CheckConfigurations_Add"),
        _route("GET", CHECKS + "/{id}", responses.get_check, "CheckConfigurations_Get"),
        _route("DELETE", CHECKS + "/{id}", responses.delete_check, "CheckConfigurations_Delete"),
        _route("GET", APPROVALS, responses.query_approvals, "Approvals_Query"),
        _route("PATCH", APPROVALS, responses.update_approvals, "Approvals_Update"),
        _route("GET", APPROVALS + "/{approvalId}", responses.get_approval, "Approvals_Get"),
        _route(
            "GET",
            PROJECT + "/build/builds/{buildId}/Timeline",
            responses.get_timeline,
            "Timeline_Get",
        ),
        _route(
            "GET",
            PROJECT + "/build/builds/{buildId}/Timeline/{timelineId}",
            responses.get_timeline,
            "Timeline_Get",
        ),
    ],
)
