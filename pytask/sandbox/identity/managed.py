"""Managed identity endpoints: IMDS (`/metadata/identity/oauth2/token`, `Metadata: true`) and
the App Service style (IDENTITY_ENDPOINT + IDENTITY_HEADER), which azure-identity's
ManagedIdentityCredential can be pointed at locally through its environment variables."""

from __future__ import annotations

import hmac

from pytask.sandbox.core import issued
from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.reply import Reply, reply
from pytask.sandbox.identity.principals import ServicePrincipal
from pytask.sandbox.identity.state import identity
from pytask.sandbox.identity.tokens import TOKEN_LIFETIME, IssuedToken, issue_access_token

APP_SERVICE_PATH = "/msi/token"


def _error(status: int, error: str, description: str) -> Reply:
    return reply({"error": error, "error_description": description}, status)


def _principal(ctx: RequestContext) -> ServicePrincipal | None:
    client_id = ctx.query.get("client_id") or ctx.query.get("clientid")
    return identity(ctx.world).managed_identity(client_id)


def _issue(ctx: RequestContext, principal: ServicePrincipal, resource: str) -> IssuedToken:
    token = issue_access_token(
        identity(ctx.world).signing_key,
        ctx.world.tenant_id,
        principal,
        resource,
        ctx.clock.now(),
        appidacr="2",
    )
    issued.record("access-token", token.token)
    return token


def imds_token(ctx: RequestContext) -> Reply:
    if ctx.headers.get("metadata", "").lower() != "true":
        return _error(400, "invalid_request", "Required metadata header not specified")
    resource = ctx.query.get("resource")
    if not resource:
        return _error(400, "invalid_request", "Required query variable 'resource' is missing")
    principal = _principal(ctx)
    if principal is None:
        return _error(400, "invalid_request", "Identity not found")
    issued = _issue(ctx, principal, resource)
    now = int(ctx.clock.now())
    return reply(
        {
            "access_token": issued.token,
            "client_id": principal.app_id,
            "expires_in": str(TOKEN_LIFETIME),
            "expires_on": str(issued.expires_on),
            "ext_expires_in": str(TOKEN_LIFETIME),
            "not_before": str(now),
            "resource": resource,
            "token_type": "Bearer",
        }
    )


def app_service_token(ctx: RequestContext) -> Reply:
    header = ctx.headers.get("x-identity-header", "")
    if not hmac.compare_digest(header, identity(ctx.world).identity_header):
        return _error(401, "invalid_request", "Missing or invalid X-IDENTITY-HEADER")
    resource = ctx.query.get("resource")
    if not resource:
        return _error(400, "invalid_request", "Required query variable 'resource' is missing")
    principal = _principal(ctx)
    if principal is None:
        return _error(400, "invalid_request", "Identity not found")
    issued = _issue(ctx, principal, resource)
    return reply(
        {
            "access_token": issued.token,
            "expires_on": str(issued.expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": principal.app_id,
        }
    )
