"""The AzureRM service connections (as the agent passes them to a task) for each principal,
and the job variables workload identity federation and managed identity need."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core.cloud import ARM_AUDIENCES, DEVOPS_ORGANIZATION, DEVOPS_PROJECT
from pytask.sandbox.core.world import World
from pytask.sandbox.identity import devops_oidc, managed
from pytask.sandbox.identity.principals import (
    MANAGED_IDENTITY,
    SPN_CERTIFICATE,
    SPN_KEY,
    WORKLOAD_IDENTITY,
    ServicePrincipal,
)
from pytask.sandbox.identity.state import identity
from pytask.sandbox.providers.resources.models import SUBSCRIPTION_NAME

# Stable per state dir would be nicer, but a plan/job id only needs to look like one.
PLAN_ID = "5b5c1e3f-7a4e-4c39-9d0a-0c3f1f3a2b11"
JOB_ID = "12f1170f-54f2-53f3-20dd-22fc7dff55f9"


def _data(world: World, extra: dict[str, str] | None = None) -> dict[str, str]:
    data = {
        "subscriptionId": world.subscription_id,
        "subscriptionName": SUBSCRIPTION_NAME,
        "environment": "AzureStack",
        "environmentAuthorityUrl": world.endpoints["authority_url"],
        "activeDirectoryServiceEndpointResourceId": ARM_AUDIENCES[0],
        "scopeLevel": "Subscription",
        "creationMode": "Manual",
    }
    data.update(extra or {})
    return data


def _base(world: World, sp: ServicePrincipal, scheme: str) -> dict[str, Any]:
    return {
        "id": sp.connection_id,
        "name": sp.connection_name,
        "type": "azurerm",
        "url": world.endpoints["arm_url"],
        "scheme": scheme,
    }


def job_variables(world: World) -> dict[str, str]:
    """What a running job lends workload identity federation (System.* variables)."""
    state = identity(world)
    base = world.endpoints["base_url"]
    return {
        "System.OidcRequestUri": devops_oidc.oidc_request_uri(
            base, state.devops_project_id, PLAN_ID, JOB_ID
        ),
        "System.AccessToken": state.job_access_token,
        "System.TeamFoundationCollectionUri": devops_oidc.collection_uri(base),
        "System.CollectionUri": devops_oidc.collection_uri(base),
        "System.CollectionId": state.devops_organization_id,
        "System.TeamProject": DEVOPS_PROJECT,
        "System.TeamProjectId": state.devops_project_id,
        "System.PlanId": PLAN_ID,
        "System.JobId": JOB_ID,
        "System.HostType": "build",
    }


def managed_identity_env(world: World) -> dict[str, str]:
    return {
        "IDENTITY_ENDPOINT": world.endpoints["base_url"] + managed.APP_SERVICE_PATH,
        "IDENTITY_HEADER": identity(world).identity_header,
    }


def connection_for(world: World, sp: ServicePrincipal, kind: str) -> dict[str, Any]:
    tenant = world.tenant_id
    if kind == SPN_KEY:
        return {
            **_base(world, sp, "ServicePrincipal"),
            "parameters": {
                "tenantid": tenant,
                "serviceprincipalid": sp.app_id,
                "authenticationType": "spnKey",
                "serviceprincipalkey": sp.secret,
            },
            "data": _data(world),
            "variables": {},
        }
    if kind == SPN_CERTIFICATE:
        return {
            **_base(world, sp, "ServicePrincipal"),
            "parameters": {
                "tenantid": tenant,
                "serviceprincipalid": sp.app_id,
                "authenticationType": "spnCertificate",
                "servicePrincipalCertificate": f"{sp.private_key_pem}{sp.certificate_pem}",
            },
            "data": _data(world),
            "variables": {},
        }
    if kind == WORKLOAD_IDENTITY:
        return {
            **_base(world, sp, "WorkloadIdentityFederation"),
            "parameters": {
                "tenantid": tenant,
                "serviceprincipalid": sp.app_id,
                "workloadIdentityFederationIssuer": devops_oidc.issuer_for(world),
                "workloadIdentityFederationSubject": sp.federated_subject,
            },
            "data": _data(world),
            "variables": job_variables(world),
        }
    if kind == MANAGED_IDENTITY:
        env = managed_identity_env(world)
        return {
            **_base(world, sp, "ManagedServiceIdentity"),
            "parameters": {"tenantid": tenant},
            "data": _data(world, {"msiclientId": sp.app_id}),
            "variables": dict(env),
            "env": dict(env),
        }
    raise ValueError(f"unknown connection kind {kind!r}")


def all_connections(world: World) -> dict[str, dict[str, Any]]:
    state = identity(world)
    result = {}
    for kind in (SPN_KEY, SPN_CERTIFICATE, WORKLOAD_IDENTITY, MANAGED_IDENTITY):
        sp = state.by_name(kind)
        if sp is not None:
            result[kind] = connection_for(world, sp, kind)
    return result


def principals_table(world: World) -> dict[str, dict[str, Any]]:
    """Every principal's credentials, for tests (the ready-file is test material)."""
    table: dict[str, dict[str, Any]] = {}
    for sp in identity(world).principals:
        entry: dict[str, Any] = {"client_id": sp.app_id, "object_id": sp.object_id}
        if sp.secret:
            entry["secret"] = sp.secret
        if sp.certificate_pem:
            entry["certificate"] = f"{sp.private_key_pem}{sp.certificate_pem}"
        if sp.federated_subject:
            entry["federated_subject"] = sp.federated_subject
            entry["service_connection_id"] = sp.connection_id
        if sp.managed:
            entry["managed"] = True
        table[sp.name] = entry
    return table


def devops_info(world: World) -> dict[str, Any]:
    state = identity(world)
    return {
        "organization": DEVOPS_ORGANIZATION,
        "project": DEVOPS_PROJECT,
        "project_id": state.devops_project_id,
        "collection_uri": devops_oidc.collection_uri(world.endpoints["base_url"]),
        "oidc_issuer": devops_oidc.issuer_for(world),
        **{"variables": job_variables(world)},
    }
