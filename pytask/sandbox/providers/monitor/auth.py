"""Bearer tokens for the data planes (Log Analytics query, regional metrics): the same
sandbox-issued tokens as ARM's, but for the data plane's own audience, answered with the
data plane's own error shape."""

from __future__ import annotations

from typing import Any

import jwt

from pytask.sandbox.core import ArmError, RequestContext
from pytask.sandbox.core.context import Principal
from pytask.sandbox.identity.state import identity
from pytask.sandbox.identity.tokens import sts_issuer

from .errors import DataPlaneError


def _error(ctx: RequestContext, code: str, message: str, inner: str | None) -> ArmError:
    challenge = (
        f'Bearer authorization_uri="{ctx.base_url}/{ctx.world.tenant_id}", '
        f'error="invalid_token", error_description="{message}"'
    )
    return DataPlaneError(
        401,
        code,
        message,
        headers={"WWW-Authenticate": challenge},
        inner=None if inner is None else {"code": inner, "message": message},
    )


def _claims(ctx: RequestContext, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = identity(ctx.world).signing_key.verify(
            token, options={"verify_exp": False, "verify_aud": False}
        )
    except jwt.PyJWTError as exc:
        message = "The provided authentication is not valid for this resource"
        raise _error(ctx, "InvalidTokenError", message, "SignatureVerificationFailed") from exc
    return claims


def require_token(ctx: RequestContext, audiences: set[str]) -> Principal:
    """The caller, if its token is the sandbox's, unexpired, and for one of `audiences`."""
    scheme, _, token = (ctx.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _error(
            ctx, "AuthorizationRequiredError", "Valid authentication was not provided", None
        )
    claims = _claims(ctx, token.strip())
    if float(claims.get("exp") or 0) <= ctx.clock.now():
        raise _error(ctx, "InvalidTokenError", "The provided token has expired", "TokenExpired")
    wanted = {a.rstrip("/").lower() for a in audiences}
    if str(claims.get("aud", "")).rstrip("/").lower() not in wanted:
        message = "The provided authentication is not valid for this resource"
        raise _error(ctx, "InvalidTokenError", message, "InvalidAudience")
    if claims.get("iss") != sts_issuer(ctx.world.tenant_id):
        message = "The provided authentication is not valid for this resource"
        raise _error(ctx, "InvalidTokenError", message, "InvalidIssuer")
    return Principal(
        object_id=str(claims.get("oid", "")),
        app_id=str(claims.get("appid", "")),
        tenant_id=str(claims.get("tid", "")),
        claims=claims,
    )
