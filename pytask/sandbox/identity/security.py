"""ARM's front door: bearer token checks (401 with WWW-Authenticate) and RBAC (403)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import jwt

from pytask.sandbox.core.cloud import ARM_AUDIENCES
from pytask.sandbox.core.context import Principal, RequestContext
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.identity.rbac import is_allowed, role_definitions
from pytask.sandbox.identity.state import identity
from pytask.sandbox.identity.tokens import sts_issuer


def _accepted_audiences() -> set[str]:
    return {a.rstrip("/").lower() for a in ARM_AUDIENCES}


def _challenge(ctx: RequestContext, description: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": (
            f'Bearer authorization_uri="{ctx.base_url}/{ctx.world.tenant_id}", '
            f'error="invalid_token", error_description="{description}"'
        )
    }


def _unauthorized(ctx: RequestContext, code: str, message: str, description: str) -> ArmError:
    return ArmError(401, code, message, headers=_challenge(ctx, description))


def _arm_time(epoch: float) -> str:
    """ARM writes times in these messages as M/d/yyyy h:mm:ss AM."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {suffix}"


class ArmSecurity:
    """Implements the core's `Security` protocol with the sandbox tenant's keys and roles."""

    def authenticate(self, ctx: RequestContext) -> Principal:
        header = ctx.headers.get("authorization")
        if header is None:
            raise _unauthorized(
                ctx,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                "The authentication failed because of missing 'Authorization' header.",
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized(
                ctx,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid "
                "format.",
                "The authentication failed because of invalid 'Authorization' header.",
            )
        claims = self._verify(ctx, token.strip())
        return Principal(
            object_id=str(claims.get("oid", "")),
            app_id=str(claims.get("appid", claims.get("azp", ""))),
            tenant_id=str(claims.get("tid", "")),
            claims=claims,
        )

    def _verify(self, ctx: RequestContext, token: str) -> dict[str, Any]:
        key = identity(ctx.world).signing_key
        try:
            claims = key.verify(token, options={"verify_exp": False, "verify_aud": False})
        except jwt.PyJWTError as exc:
            raise _unauthorized(
                ctx,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                "The access token is invalid.",
            ) from exc
        now = ctx.clock.now()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= now:
            raise _unauthorized(
                ctx,
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{_arm_time(float(exp or 0))}' is earlier "
                f"than current UTC time '{_arm_time(now)}'.",
                "The access token expiry UTC time is earlier than current UTC time.",
            )
        audience = str(claims.get("aud", ""))
        if audience.rstrip("/").lower() not in _accepted_audiences():
            allowed = ",".join(f"'{a}','{a.rstrip('/')}'" for a in ARM_AUDIENCES)
            raise _unauthorized(
                ctx,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource "
                f"'{audience}'. It should exactly match with one of the allowed audiences "
                f"{allowed}.",
                "The access token has been obtained for wrong audience or resource.",
            )
        expected_issuer = sts_issuer(ctx.world.tenant_id)
        if claims.get("iss") != expected_issuer:
            raise _unauthorized(
                ctx,
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match "
                f"the tenant '{expected_issuer}' associated with this subscription. Please use "
                f"the authority (URL) '{ctx.base_url}/{ctx.world.tenant_id}' to get the token.",
                "The access token is from the wrong issuer.",
            )
        return claims

    def authorize(self, ctx: RequestContext, action: str, scope: str) -> None:
        principal = ctx.principal
        if principal is None:
            return
        state = identity(ctx.world)
        roles = role_definitions(state.role_definitions)
        if is_allowed(principal.object_id, action, scope, state.role_assignments, roles):
            return
        raise ArmError(
            403,
            "AuthorizationFailed",
            f"The client '{principal.app_id}' with object id '{principal.object_id}' does not "
            f"have authorization to perform action '{action}' over scope '{scope}' or the scope "
            "is invalid. If access was recently granted, please refresh your credentials.",
        )
