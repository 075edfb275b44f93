"""Which azure-identity credential each connection gets (tokens: tests/e2e/test_auth_*)."""

from __future__ import annotations

import datetime
import os

import pytest
from azure.identity import (
    AzureCliCredential,
    AzurePipelinesCredential,
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pytask.agent.connection import ServiceConnection
from pytask.cloud.azurerm import parse_azurerm
from pytask.cloud.credentials import OIDC_REQUEST_URI_VARIABLE, JobIdentity, build_credential
from pytask.cloud.errors import CloudConfigError

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
AUTHORITY = "https://login.microsoftonline.us"


def self_signed_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pytask-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (key_pem + cert.public_bytes(serialization.Encoding.PEM)).decode()


def connection(scheme: str, **parameters: str) -> ServiceConnection:
    return ServiceConnection(
        id="conn-1",
        url="https://management.usgovcloudapi.net/",
        scheme=scheme,
        parameters={"serviceprincipalid": CLIENT, "tenantid": TENANT, **parameters},
        data={"subscriptionId": "sub"},
    )


def test_key_gets_client_secret_credential() -> None:
    azurerm = parse_azurerm(connection("ServicePrincipal", serviceprincipalkey="k"))
    assert isinstance(build_credential(azurerm, AUTHORITY), ClientSecretCredential)


def test_certificate_gets_certificate_credential() -> None:
    azurerm = parse_azurerm(
        connection(
            "ServicePrincipal",
            authenticationType="spnCertificate",
            servicePrincipalCertificate=self_signed_pem(),
        )
    )
    assert isinstance(build_credential(azurerm, AUTHORITY), CertificateCredential)


def test_unreadable_certificate_is_a_clear_error() -> None:
    azurerm = parse_azurerm(
        connection(
            "ServicePrincipal",
            authenticationType="spnCertificate",
            servicePrincipalCertificate="-----BEGIN CERTIFICATE-----\nnope\n",
        )
    )
    with pytest.raises(CloudConfigError, match=r"conn-1.*certificate"):
        build_credential(azurerm, AUTHORITY)


def test_workload_identity_gets_azure_pipelines_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(OIDC_REQUEST_URI_VARIABLE, raising=False)
    azurerm = parse_azurerm(connection("WorkloadIdentityFederation"))
    job = JobIdentity(access_token="job-token", oidc_request_uri="https://dev.azure.com/o/p/oidc")
    assert isinstance(build_credential(azurerm, AUTHORITY, job), AzurePipelinesCredential)
    # The credential reads the URI from the environment for every assertion.
    assert os.environ[OIDC_REQUEST_URI_VARIABLE] == "https://dev.azure.com/o/p/oidc"


def test_workload_identity_without_job_token_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(OIDC_REQUEST_URI_VARIABLE, "https://dev.azure.com/o/p/oidc")
    azurerm = parse_azurerm(connection("WorkloadIdentityFederation"))
    with pytest.raises(CloudConfigError, match=r"System\.AccessToken"):
        build_credential(azurerm, AUTHORITY, JobIdentity())


def test_workload_identity_without_oidc_uri_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(OIDC_REQUEST_URI_VARIABLE, raising=False)
    azurerm = parse_azurerm(connection("WorkloadIdentityFederation"))
    with pytest.raises(CloudConfigError, match=OIDC_REQUEST_URI_VARIABLE):
        build_credential(azurerm, AUTHORITY, JobIdentity(access_token="t"))


def test_managed_identity_gets_managed_identity_credential() -> None:
    azurerm = parse_azurerm(connection("ManagedServiceIdentity"))
    assert isinstance(build_credential(azurerm, AUTHORITY), ManagedIdentityCredential)


def test_local_cli_scheme_gets_the_developers_cli_login() -> None:
    azurerm = parse_azurerm(connection("LocalAzureCli"))
    assert isinstance(build_credential(azurerm, AUTHORITY), AzureCliCredential)
