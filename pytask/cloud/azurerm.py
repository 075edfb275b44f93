"""An AzureRM service connection, read the way the Azure Pipelines tasks read it.

Parameter spellings follow microsoft/azure-pipelines-tasks' common AzureRM endpoint code
(`azure-arm-rest/azure-arm-endpoint.ts`); the agent looks them up case-insensitively, and
so does `ServiceConnection`:

- auth scheme: `ServicePrincipal`, `WorkloadIdentityFederation`, `ManagedServiceIdentity`;
- auth parameters: `serviceprincipalid`, `tenantid`, `authenticationType` (`spnKey` or
  `spnCertificate`), `serviceprincipalkey`, `servicePrincipalCertificate` (PEM);
- data: `subscriptionId`, `environment`, `activeDirectoryAuthority` (MSAL authority),
  `environmentAuthorityUrl` (older ADAL authority), `activeDirectoryServiceEndpointResourceId`
  (ARM audience), `msiclientId`, `EnableAdfsAuthentication`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pytask.agent.connection import LOCAL_CLI_SCHEME, ServiceConnection
from pytask.cloud.endpoints import strip_slash
from pytask.cloud.errors import CloudConfigError


class AuthKind(enum.Enum):
    """How the connection proves its identity; one azure-identity credential each."""

    SECRET = "ServicePrincipal (spnKey)"
    CERTIFICATE = "ServicePrincipal (spnCertificate)"
    WORKLOAD_IDENTITY = "WorkloadIdentityFederation"
    MANAGED_IDENTITY = "ManagedServiceIdentity"
    LOCAL_CLI = "LocalAzureCli"


SUPPORTED_SCHEMES = ("ServicePrincipal", "WorkloadIdentityFederation", "ManagedServiceIdentity")


@dataclass(frozen=True)
class AzureRmConnection:
    """A validated AzureRM connection. Secrets are excluded from `repr`."""

    id: str
    kind: AuthKind
    arm_url: str
    tenant_id: str | None
    client_id: str | None
    subscription_id: str | None
    environment: str | None = None
    authority: str | None = None
    arm_audience: str | None = None
    adfs: bool = False
    secret: str | None = field(default=None, repr=False)
    certificate_pem: str | None = field(default=None, repr=False)


def parse_azurerm(connection: ServiceConnection) -> AzureRmConnection:
    """Validate `connection` and name every missing or unknown piece in one error."""
    kind = _auth_kind(connection)
    missing = [
        f"auth parameter '{name}'" for name in _REQUIRED[kind] if not _param(connection, name)
    ]
    if not connection.url.strip():
        missing.insert(0, "the endpoint URL (ENDPOINT_URL)")
    if missing:
        raise CloudConfigError(
            f"Service connection '{connection.id}' ({kind.value}) is missing "
            f"{_join(missing)}. Edit the service connection in Project settings or "
            "recreate it."
        )
    return AzureRmConnection(
        id=connection.id,
        kind=kind,
        arm_url=strip_slash(connection.url),
        tenant_id=_trimmed(_param(connection, "tenantid")),
        client_id=_client_id(connection, kind),
        subscription_id=_data(connection, "subscriptionId"),
        environment=_data(connection, "environment"),
        authority=_authority(connection),
        arm_audience=_data(connection, "activeDirectoryServiceEndpointResourceId"),
        adfs=(_data(connection, "EnableAdfsAuthentication") or "").lower() == "true",
        secret=_param(connection, "serviceprincipalkey") if kind is AuthKind.SECRET else None,
        certificate_pem=_param(connection, "servicePrincipalCertificate")
        if kind is AuthKind.CERTIFICATE
        else None,
    )


def _auth_kind(connection: ServiceConnection) -> AuthKind:
    scheme = connection.scheme.strip().lower()
    if not scheme:
        raise CloudConfigError(
            f"Service connection '{connection.id}' has no authorization scheme "
            f"(ENDPOINT_AUTH_SCHEME); expected one of {', '.join(SUPPORTED_SCHEMES)}."
        )
    if scheme == "workloadidentityfederation":
        return AuthKind.WORKLOAD_IDENTITY
    if scheme == "managedserviceidentity":
        return AuthKind.MANAGED_IDENTITY
    if scheme == LOCAL_CLI_SCHEME.lower():
        # `pytask run` without a connection file: the developer's own `az login`.
        return AuthKind.LOCAL_CLI
    if scheme != "serviceprincipal":
        raise CloudConfigError(
            f"Service connection '{connection.id}' uses the authorization scheme "
            f"'{connection.scheme}', which these tasks do not support; use an Azure Resource "
            f"Manager connection with one of {', '.join(SUPPORTED_SCHEMES)}."
        )
    return _service_principal_kind(connection)


def _service_principal_kind(connection: ServiceConnection) -> AuthKind:
    auth_type = (_param(connection, "authenticationType") or "").lower()
    if auth_type == "spncertificate":
        return AuthKind.CERTIFICATE
    if auth_type == "spnkey":
        return AuthKind.SECRET
    if auth_type:
        raise CloudConfigError(
            f"Service connection '{connection.id}' (ServicePrincipal) has authenticationType "
            f"'{_param(connection, 'authenticationType')}'; expected 'spnKey' or 'spnCertificate'."
        )
    # Older connections carry no authenticationType: the agent treats them as spnKey
    # unless only a certificate is present.
    if _param(connection, "servicePrincipalCertificate") and not _param(
        connection, "serviceprincipalkey"
    ):
        return AuthKind.CERTIFICATE
    return AuthKind.SECRET


_REQUIRED: dict[AuthKind, tuple[str, ...]] = {
    AuthKind.SECRET: ("serviceprincipalid", "tenantid", "serviceprincipalkey"),
    AuthKind.CERTIFICATE: ("serviceprincipalid", "tenantid", "servicePrincipalCertificate"),
    AuthKind.WORKLOAD_IDENTITY: ("serviceprincipalid", "tenantid"),
    AuthKind.MANAGED_IDENTITY: (),
    AuthKind.LOCAL_CLI: (),
}


def _client_id(connection: ServiceConnection, kind: AuthKind) -> str | None:
    if kind is AuthKind.MANAGED_IDENTITY:
        # A user-assigned identity is named in the data; none means system-assigned.
        return _data(connection, "msiclientId")
    return _trimmed(_param(connection, "serviceprincipalid"))


def _authority(connection: ServiceConnection) -> str | None:
    # MSAL-era connections carry activeDirectoryAuthority; older ones environmentAuthorityUrl.
    value = _data(connection, "activeDirectoryAuthority") or _data(
        connection, "environmentAuthorityUrl"
    )
    return strip_slash(value) if value else None


def _param(connection: ServiceConnection, name: str) -> str | None:
    # Returned unstripped: a secret is used exactly as given.
    value = connection.parameter(name)
    return value if value and value.strip() else None


def _trimmed(value: str | None) -> str | None:
    return value.strip() if value else None


def _data(connection: ServiceConnection, name: str) -> str | None:
    value = connection.data_value(name)
    return value.strip() if value and value.strip() else None


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
