"""Access tokens as Entra issues them for the client credentials flow (v1 claims)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.identity.keys import SigningKey
from pytask.sandbox.identity.principals import ServicePrincipal

TOKEN_LIFETIME = 3600  # seconds, as Entra's default for app tokens (roughly)


def sts_issuer(tenant_id: str) -> str:
    """The v1 issuer form ARM tokens carry (and Azurite's OAuth check accepts)."""
    return f"https://sts.windows.net/{tenant_id}/"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_on: int
    audience: str


def issue_access_token(
    key: SigningKey,
    tenant_id: str,
    principal: ServicePrincipal,
    audience: str,
    now: float,
    lifetime: int = TOKEN_LIFETIME,
    appidacr: str = "1",
) -> IssuedToken:
    issued = int(now)
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": sts_issuer(tenant_id),
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "appid": principal.app_id,
        "appidacr": appidacr,
        "idp": sts_issuer(tenant_id),
        "idtyp": "app",
        "oid": principal.object_id,
        "sub": principal.object_id,
        "tid": tenant_id,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    return IssuedToken(key.sign(claims), issued + lifetime, audience)


def audience_from_scope(scope: str) -> str | None:
    """`https://management.sandbox.local/.default` -> `https://management.sandbox.local/`.
    Only `.default` scopes make sense for the client credentials flow."""
    scopes = [s for s in scope.split() if s not in ("offline_access", "openid", "profile")]
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return None
    return scopes[0][: -len(".default")]


def audience_from_resource(resource: str) -> str:
    """Managed identity endpoints take a v1 `resource`; the token's aud is that resource."""
    return resource
