"""Azure DevOps' OIDC token endpoint for workload identity federation (what
System.OidcRequestUri points to) and the issuer's discovery documents."""

from __future__ import annotations

import hmac
from typing import Any

from pytask.sandbox.core import issued
from pytask.sandbox.core.cloud import DEVOPS_ORGANIZATION, DEVOPS_PROJECT
from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.reply import Reply, reply
from pytask.sandbox.core.world import World
from pytask.sandbox.identity.principals import FEDERATION_AUDIENCE
from pytask.sandbox.identity.state import identity

OIDC_TOKEN_LIFETIME = 600  # seconds; the assertion is exchanged immediately
OIDC_API_VERSIONS = ("7.1", "7.1-preview.1", "7.1-preview", "7.2-preview.1")


def issuer_for(world: World) -> str:
    """The sandbox's stand-in for https://vstoken.dev.azure.com/{organizationId}."""
    return f"{world.endpoints['base_url']}/vstoken/{identity(world).devops_organization_id}"


def devops_issuer(ctx: RequestContext) -> str:
    return issuer_for(ctx.world)


def collection_uri(base_url: str) -> str:
    return f"{base_url}/{DEVOPS_ORGANIZATION}/"


def oidc_request_uri(base_url: str, project_id: str, plan_id: str, job_id: str) -> str:
    return (
        f"{base_url}/{DEVOPS_ORGANIZATION}/{project_id}/_apis/distributedtask/hubs/build"
        f"/plans/{plan_id}/jobs/{job_id}/oidctoken"
    )


def _vss_error(status: int, type_key: str, message: str) -> Reply:
    """Azure DevOps' error shape."""
    body: dict[str, Any] = {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.TeamFoundation.DistributedTask.WebApi.{type_key}, "
        "Microsoft.TeamFoundation.DistributedTask.WebApi",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }
    return reply(body, status)


def create_oidc_token(ctx: RequestContext) -> Reply:
    state = identity(ctx.world)
    project = ctx.params["project"].lower()
    if ctx.params["organization"].lower() != DEVOPS_ORGANIZATION or project not in (
        DEVOPS_PROJECT,
        state.devops_project_id,
    ):
        return _vss_error(404, "ProjectDoesNotExistException", "The project does not exist.")
    presented = ctx.headers.get("authorization", "")
    scheme, _, token = presented.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token, state.job_access_token):
        return _vss_error(
            401,
            "UnauthorizedRequestException",
            "TF400813: The user '' is not authorized to access this resource.",
        )
    api_version = ctx.query.get("api-version", "")
    if api_version not in OIDC_API_VERSIONS:
        return _vss_error(
            400,
            "VssVersionNotSupportedException",
            f"The requested REST API version of {api_version or '(none)'} is not supported.",
        )
    connection_id = ctx.query.get("serviceConnectionId", "")
    principal = state.by_connection(connection_id)
    if principal is None or principal.federated_subject is None:
        return _vss_error(
            400,
            "InvalidServiceEndpointException",
            f"Service connection '{connection_id}' was not found or does not use workload "
            "identity federation.",
        )
    now = int(ctx.clock.now())
    claims = {
        "iss": devops_issuer(ctx),
        "sub": principal.federated_subject,
        "aud": FEDERATION_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + OIDC_TOKEN_LIFETIME,
        "jti": f"{ctx.params['planId']}.{ctx.params['jobId']}.{now}",
    }
    token = state.signing_key.sign(claims)
    issued.record("oidc-token", token)
    return reply({"oidcToken": token})


def issuer_configuration(ctx: RequestContext) -> Reply:
    issuer = devops_issuer(ctx)
    return reply(
        {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/.well-known/jwks",
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }
    )


def issuer_keys(ctx: RequestContext) -> Reply:
    return reply({"keys": [identity(ctx.world).signing_key.jwk()]})
