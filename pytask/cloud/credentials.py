"""The azure-identity credential for an AzureRM service connection, or for a developer.

One credential per auth kind, always told the cloud's authority (never the public cloud by
default) and, off the public Entra hosts, with instance discovery disabled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import TokenCredential
from azure.identity import (
    AzureCliCredential,
    AzurePipelinesCredential,
    CertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
)

from pytask.cloud.authority import Authority, resolve_authority
from pytask.cloud.azurerm import AuthKind, AzureRmConnection
from pytask.cloud.errors import CloudConfigError

OIDC_REQUEST_URI_VARIABLE = "SYSTEM_OIDCREQUESTURI"


@dataclass(frozen=True)
class JobIdentity:
    """What the running job lends a workload identity federation connection.

    `access_token` is System.AccessToken (ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_
    ACCESSTOKEN); `oidc_request_uri` is System.OidcRequestUri. AzurePipelinesCredential
    posts the first to the second for every new assertion.
    """

    access_token: str | None = field(default=None, repr=False)
    oidc_request_uri: str | None = None


def build_credential(
    connection: AzureRmConnection,
    authority_url: str,
    job: JobIdentity | None = None,
) -> TokenCredential:
    """The credential for `connection`, asking `authority_url` (the cloud's login endpoint)."""
    authority = resolve_authority(authority_url, connection.tenant_id, adfs=connection.adfs)
    builder = _BUILDERS[connection.kind]
    return builder(connection, authority, job or JobIdentity())


def local_credential(authority_url: str | None = None, *, use_cli: bool = True) -> TokenCredential:
    """A developer's own login: the Azure CLI's, or the whole DefaultAzureCredential chain."""
    if use_cli:
        return AzureCliCredential()
    if authority_url is None:
        return DefaultAzureCredential(exclude_interactive_browser_credential=True)
    return DefaultAzureCredential(
        authority=resolve_authority(authority_url, None).url,
        exclude_interactive_browser_credential=True,
    )


def _msal_options(authority: Authority) -> dict[str, Any]:
    return {
        "authority": authority.url,
        "disable_instance_discovery": authority.disable_instance_discovery,
    }


def _secret(connection: AzureRmConnection, authority: Authority, _: JobIdentity) -> TokenCredential:
    return ClientSecretCredential(
        authority.tenant_id,
        _required(connection.client_id),
        _required(connection.secret),
        **_msal_options(authority),
    )


def _certificate(
    connection: AzureRmConnection, authority: Authority, _: JobIdentity
) -> TokenCredential:
    # The PEM is handed over as bytes, so the private key never touches the disk.
    try:
        return CertificateCredential(
            authority.tenant_id,
            _required(connection.client_id),
            certificate_data=_required(connection.certificate_pem).encode("utf-8"),
            **_msal_options(authority),
        )
    except ValueError as error:
        raise CloudConfigError(
            f"Service connection '{connection.id}': the service principal certificate is not "
            "a PEM file with a certificate and its unencrypted RSA private key "
            f"({error})."
        ) from None


def _workload_identity(
    connection: AzureRmConnection, authority: Authority, job: JobIdentity
) -> TokenCredential:
    missing = []
    if not job.access_token:
        missing.append("the job access token (System.AccessToken)")
    request_uri = job.oidc_request_uri or os.environ.get(OIDC_REQUEST_URI_VARIABLE)
    if not request_uri:
        missing.append(f"the OIDC request URI ({OIDC_REQUEST_URI_VARIABLE})")
    if missing:
        raise CloudConfigError(
            f"Service connection '{connection.id}' uses workload identity federation, which "
            f"needs {' and '.join(missing)}; this task must run in an Azure Pipelines job."
        )
    # AzurePipelinesCredential reads the URI from the environment for every assertion.
    os.environ[OIDC_REQUEST_URI_VARIABLE] = str(request_uri)
    return AzurePipelinesCredential(
        tenant_id=authority.tenant_id,
        client_id=_required(connection.client_id),
        service_connection_id=connection.id,
        system_access_token=str(job.access_token),
        authority=authority.url,
    )


def _managed_identity(
    connection: AzureRmConnection, _authority: Authority, _job: JobIdentity
) -> TokenCredential:
    if connection.client_id:
        return ManagedIdentityCredential(client_id=connection.client_id)
    return ManagedIdentityCredential()


def _local_cli(
    _connection: AzureRmConnection, authority: Authority, _job: JobIdentity
) -> TokenCredential:
    return local_credential(authority.url)


def _required(value: str | None) -> str:
    # parse_azurerm has already checked presence; this only narrows the type.
    if value is None:
        raise CloudConfigError("internal error: a validated connection lost a parameter")
    return value


_BUILDERS = {
    AuthKind.SECRET: _secret,
    AuthKind.CERTIFICATE: _certificate,
    AuthKind.WORKLOAD_IDENTITY: _workload_identity,
    AuthKind.MANAGED_IDENTITY: _managed_identity,
    AuthKind.LOCAL_CLI: _local_cli,
}
