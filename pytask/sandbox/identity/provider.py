"""The identity endpoints as a provider: Entra, Azure DevOps OIDC, managed identity. None of
them take an ARM token; the seed section `identity` adds principals and RBAC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pytask.sandbox.core.provider import Provider, Route, Seeder
from pytask.sandbox.identity import devops_oidc, entra, managed
from pytask.sandbox.identity.principals import BUILT_IN, new_identity_state, new_principal
from pytask.sandbox.identity.state import NAMESPACE, identity, save_identity


def _initial_state() -> dict[str, Any]:
    return new_identity_state().to_json()


def seed(seeder: Seeder, spec: Any) -> None:
    """```yaml
    identity:
      principals:                       # extra service principals (name, kind)
        - {name: readerApp, kind: spnKey}
      roleDefinitions:                  # custom roles
        - {name: Gallery Publisher, actions: ["Microsoft.Compute/galleries/*"], notActions: []}
      roleAssignments:                  # principal: a principal name or object id
        - {principal: readerApp, role: Reader, scope: "/subscriptions/{subscriptionId}"}
    ```"""
    if not isinstance(spec, Mapping):
        raise ValueError("seed: 'identity' must be a mapping")
    state = identity(seeder.world)
    for item in spec.get("principals", []) or []:
        kind = item.get("kind", "spnKey")
        if kind not in BUILT_IN:
            raise ValueError(f"seed: identity principal kind must be one of {BUILT_IN}")
        if state.by_name(item["name"]) is None:
            state.principals.append(new_principal(str(item["name"]), kind))
    state.role_definitions.extend(spec.get("roleDefinitions", []) or [])
    for item in spec.get("roleAssignments", []) or []:
        name = str(item["principal"])
        principal = state.by_name(name) or state.by_object_id(name)
        if principal is None:
            raise ValueError(f"seed: role assignment for unknown principal {name!r}")
        scope = str(item["scope"]).replace("{subscriptionId}", seeder.subscription_id)
        state.role_assignments.append(
            {"principal": principal.object_id, "role": str(item["role"]), "scope": scope}
        )
    save_identity(seeder.world, state)


TENANT = "/{tenant}"
NONE: Literal["none"] = "none"
NONE = "none"
PROVIDER = Provider(
    namespace=NAMESPACE,
    initial_state=_initial_state,
    seed_key="identity",
    seed=seed,
    seed_order=0,
    routes=[
        Route("POST", TENANT + "/oauth2/v2.0/token", entra.token, auth=NONE, operation="Token"),
        Route(
            "GET",
            TENANT + "/v2.0/.well-known/openid-configuration",
            entra.openid_configuration,
            auth=NONE,
            operation="OpenIdConfiguration",
        ),
        Route(
            "GET",
            TENANT + "/.well-known/openid-configuration",
            entra.openid_configuration,
            auth=NONE,
            operation="OpenIdConfiguration",
        ),
        Route("GET", TENANT + "/discovery/v2.0/keys", entra.keys, auth=NONE, operation="Keys"),
        Route("GET", "/common/discovery/keys", entra.keys, auth=NONE, operation="Keys"),
        Route(
            "GET",
            "/common/discovery/instance",
            entra.instance_discovery,
            auth=NONE,
            operation="InstanceDiscovery",
        ),
        Route(
            "POST",
            "/{organization}/{project}/_apis/distributedtask/hubs/{hubName}/plans/{planId}"
            "/jobs/{jobId}/oidctoken",
            devops_oidc.create_oidc_token,
            auth=NONE,
            operation="Oidctoken_Create",
        ),
        Route(
            "GET",
            "/vstoken/{organizationId}/.well-known/openid-configuration",
            devops_oidc.issuer_configuration,
            auth=NONE,
            operation="OidcIssuerConfiguration",
        ),
        Route(
            "GET",
            "/vstoken/{organizationId}/.well-known/jwks",
            devops_oidc.issuer_keys,
            auth=NONE,
            operation="OidcIssuerKeys",
        ),
        Route(
            "GET",
            "/metadata/identity/oauth2/token",
            managed.imds_token,
            auth=NONE,
            operation="ManagedIdentityToken",
        ),
        Route(
            "GET",
            managed.APP_SERVICE_PATH,
            managed.app_service_token,
            auth=NONE,
            operation="ManagedIdentityToken",
        ),
    ],
)
