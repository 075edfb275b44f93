"""Entra ID for the sandbox tenant: the v2 token endpoint (client credentials with a secret, a
certificate assertion or a federated assertion), OIDC discovery, instance discovery, JWKS."""

from __future__ import annotations

import base64
import hmac
from typing import Any
from urllib.parse import parse_qsl, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pytask.sandbox.core import issued as issued_secrets
from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.reply import Reply, reply
from pytask.sandbox.identity import errors
from pytask.sandbox.identity.devops_oidc import devops_issuer
from pytask.sandbox.identity.principals import FEDERATION_AUDIENCE, ServicePrincipal
from pytask.sandbox.identity.state import identity
from pytask.sandbox.identity.tokens import TOKEN_LIFETIME, audience_from_scope, issue_access_token

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET_ACR = "1"
ASSERTION_ACR = "2"


def authority(ctx: RequestContext) -> str:
    return ctx.base_url


def token(ctx: RequestContext) -> Reply:
    try:
        return _token(ctx)
    except errors.EntraError as error:
        return errors.entra_reply(error, ctx.base_url, ctx.headers.get("client-request-id"))


def _token(ctx: RequestContext) -> Reply:
    tenant = ctx.params["tenant"]
    _require_tenant(ctx, tenant)
    form = dict(parse_qsl(ctx.body.decode("utf-8", "replace"), keep_blank_values=True))
    grant_type = form.get("grant_type")
    if not grant_type:
        raise errors.missing_parameter("grant_type")
    if grant_type != "client_credentials":
        raise errors.unsupported_grant(grant_type)
    client_id = form.get("client_id")
    if not client_id:
        raise errors.missing_parameter("client_id")
    principal = identity(ctx.world).find_app(client_id)
    if principal is None or principal.managed:
        raise errors.app_not_found(client_id, tenant)
    scope = form.get("scope", "")
    audience = audience_from_scope(scope)
    if audience is None:
        raise errors.invalid_scope(scope)
    acr = _authenticate_client(ctx, principal, form)
    issued = issue_access_token(
        identity(ctx.world).signing_key,
        ctx.world.tenant_id,
        principal,
        audience,
        ctx.clock.now(),
        appidacr=acr,
    )
    issued_secrets.record("access-token", issued.token)
    lifetime = TOKEN_LIFETIME - 1
    return reply(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": issued.token,
        },
        200,
        {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


def _require_tenant(ctx: RequestContext, tenant: str) -> None:
    if tenant.lower() != ctx.world.tenant_id.lower():
        raise errors.tenant_not_found(tenant)


def _authenticate_client(
    ctx: RequestContext, principal: ServicePrincipal, form: dict[str, str]
) -> str:
    """Check the client's credential; returns the `appidacr` claim value."""
    if "client_secret" in form:
        expected = principal.secret
        if expected is None or not hmac.compare_digest(form["client_secret"], expected):
            raise errors.invalid_secret(principal.app_id)
        return SECRET_ACR
    assertion = form.get("client_assertion")
    if not assertion:
        raise errors.missing_credential()
    if form.get("client_assertion_type") != JWT_BEARER:
        raise errors.missing_parameter("client_assertion_type")
    if principal.federated_subject is not None:
        _verify_federated(ctx, principal, assertion)
    else:
        _verify_certificate_assertion(ctx, principal, assertion)
    return ASSERTION_ACR


def _verify_certificate_assertion(
    ctx: RequestContext, principal: ServicePrincipal, assertion: str
) -> None:
    cert = principal.certificate
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise errors.malformed_assertion(str(exc)) from exc
    presented = header.get("x5t#S256") or header.get("x5t") or ""
    if cert is None or presented not in _thumbprints(cert):
        raise errors.certificate_not_registered(_hex_thumbprint(presented))
    claims = _decode(assertion, cert.public_key(), ["RS256", "PS256"])
    _check_lifetime(ctx, claims)
    if claims.get("iss") != principal.app_id or claims.get("sub") != principal.app_id:
        raise errors.malformed_assertion("The 'iss' and 'sub' claims must be the client id.")


def _verify_federated(ctx: RequestContext, principal: ServicePrincipal, assertion: str) -> None:
    public_key = identity(ctx.world).signing_key.public_key()
    claims = _decode(assertion, public_key, ["RS256"])
    _check_lifetime(ctx, claims)
    issuer = str(claims.get("iss", ""))
    subject = str(claims.get("sub", ""))
    audience = claims.get("aud", "")
    audiences = audience if isinstance(audience, list) else [audience]
    if (
        issuer != devops_issuer(ctx)
        or subject != principal.federated_subject
        or FEDERATION_AUDIENCE not in audiences
    ):
        raise errors.no_federated_match(issuer, subject, ",".join(map(str, audiences)))


def _decode(assertion: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key,
            algorithms=algorithms,
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise errors.signature_invalid() from exc
    except jwt.PyJWTError as exc:
        raise errors.malformed_assertion(str(exc)) from exc
    return claims


def _check_lifetime(ctx: RequestContext, claims: dict[str, Any]) -> None:
    now = ctx.clock.now()
    exp = claims.get("exp")
    nbf = claims.get("nbf")
    skew = 300  # Entra tolerates five minutes of clock skew
    if not isinstance(exp, (int, float)) or exp + skew < now:
        raise errors.assertion_expired(now, nbf, exp if isinstance(exp, (int, float)) else None)
    if isinstance(nbf, (int, float)) and nbf - skew > now:
        raise errors.assertion_expired(now, nbf, exp)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _thumbprints(cert: x509.Certificate) -> set[str]:
    """x5t (SHA-1) and x5t#S256 (SHA-256) of the certificate, base64url, with and without
    padding (clients differ)."""
    values = set()
    for algorithm in (hashes.SHA1(), hashes.SHA256()):
        digest = cert.fingerprint(algorithm)
        values.add(_b64(digest))
        values.add(base64.urlsafe_b64encode(digest).decode("ascii"))
    return values


def _hex_thumbprint(presented: str) -> str:
    try:
        return base64.urlsafe_b64decode(presented + "==").hex().upper()
    except (ValueError, TypeError):
        return presented


# --- discovery ---------------------------------------------------------------------------
def openid_configuration(ctx: RequestContext) -> Reply:
    tenant = ctx.params["tenant"]
    try:
        _require_tenant(ctx, tenant)
    except errors.EntraError as error:
        return errors.entra_reply(error, ctx.base_url)
    base = f"{authority(ctx)}/{ctx.world.tenant_id}"
    host = urlparse(ctx.base_url).netloc
    return reply(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/openid/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": host,
            "cloud_graph_host_name": host,
            "msgraph_host": host,
            "rbac_url": ctx.base_url,
        }
    )


def instance_discovery(ctx: RequestContext) -> Reply:
    """MSAL's `/common/discovery/instance`: known instance = this sandbox's host."""
    endpoint = ctx.query.get("authorization_endpoint", "")
    parsed = urlparse(endpoint)
    host = urlparse(ctx.base_url).netloc
    # MSAL sends the authority's host name without its port.
    if (parsed.hostname or "").lower() != (urlparse(ctx.base_url).hostname or "").lower():
        return reply(
            {
                "error": "invalid_instance",
                "error_description": "AADSTS50049: Unknown or invalid instance.",
                "error_codes": [50049],
            },
            400,
        )
    tenant = parsed.path.strip("/").split("/")[0] or "common"
    return reply(
        {
            "tenant_discovery_endpoint": (
                f"{ctx.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [
                {"preferred_network": host, "preferred_cache": host, "aliases": [host]},
            ],
        }
    )


def keys(ctx: RequestContext) -> Reply:
    return reply({"keys": [identity(ctx.world).signing_key.jwk()]})
