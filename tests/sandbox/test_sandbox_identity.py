"""Token issue and rejection for every auth scheme, with azure-identity's real credentials and
with MSAL, against the sandbox's Entra, Azure DevOps OIDC and managed identity endpoints."""

from __future__ import annotations

import base64
import datetime
import time
import uuid
from typing import Any

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    AzurePipelinesCredential,
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e


def _claims(sandbox: RunningSandbox, token: str) -> dict[str, Any]:
    """Verify the token against the tenant's published JWKS, as a resource server would."""
    keys = requests.get(
        f"{sandbox.base_url}/{sandbox['tenant_id']}/discovery/v2.0/keys",
        verify=sandbox.ca_bundle,
        timeout=10,
    ).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k) for k in keys if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], options={"verify_aud": False}
    )
    # Entra keeps the resource as requested: with or without the trailing slash.
    assert claims["aud"].rstrip("/") == sandbox["arm_audience"].rstrip("/")
    return claims


def _kwargs(sandbox: RunningSandbox) -> dict[str, Any]:
    return {"authority": sandbox["authority_url"], "disable_instance_discovery": True}


def _principal(sandbox: RunningSandbox, name: str) -> dict[str, Any]:
    principal: dict[str, Any] = sandbox["principals"][name]
    return principal


# --- client secret --------------------------------------------------------------------------
def test_client_secret_token_has_entra_claims(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    spn = _principal(sandbox, "spnKey")
    credential = ClientSecretCredential(
        sandbox["tenant_id"], spn["client_id"], spn["secret"], **_kwargs(sandbox)
    )
    token = credential.get_token(sandbox.arm_scope)
    claims = _claims(sandbox, token.token)
    assert claims["iss"] == f"https://sts.windows.net/{sandbox['tenant_id']}/"
    assert claims["tid"] == sandbox["tenant_id"]
    assert claims["appid"] == spn["client_id"]
    assert claims["oid"] == spn["object_id"]
    assert claims["appidacr"] == "1"
    assert token.expires_on > time.time() + 3000


def test_wrong_secret_is_aadsts7000215(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    spn = _principal(sandbox, "spnKey")
    credential = ClientSecretCredential(
        sandbox["tenant_id"], spn["client_id"], "not-the-secret", **_kwargs(sandbox)
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(sandbox.arm_scope)


def test_wrong_tenant_is_aadsts90002(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    spn = _principal(sandbox, "spnKey")
    credential = ClientSecretCredential(
        str(uuid.uuid4()), spn["client_id"], spn["secret"], **_kwargs(sandbox)
    )
    # MSAL reads the tenant's OIDC configuration first; Entra answers 400 for an unknown
    # tenant, so MSAL fails before any token request (as it does against Azure).
    with pytest.raises(ClientAuthenticationError, match="authority configuration"):
        credential.get_token(sandbox.arm_scope)
    response = requests.post(
        f"{sandbox.base_url}/{uuid.uuid4()}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": spn["client_id"],
            "client_secret": spn["secret"],
            "scope": sandbox.arm_scope,
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_unknown_application_is_aadsts700016(sandbox: RunningSandbox) -> None:
    response = requests.post(
        f"{sandbox.base_url}/{sandbox['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": str(uuid.uuid4()),
            "client_secret": "x",
            "scope": sandbox.arm_scope,
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 400
    assert body["error"] == "unauthorized_client"
    assert body["error_codes"] == [700016]
    assert body["error_description"].startswith("AADSTS700016: Application with identifier")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_scope_without_default_is_invalid_scope(sandbox: RunningSandbox) -> None:
    spn = _principal(sandbox, "spnKey")
    response = requests.post(
        f"{sandbox.base_url}/{sandbox['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": spn["client_id"],
            "client_secret": spn["secret"],
            "scope": "https://management.sandbox.local/user_impersonation",
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


# --- client certificate ---------------------------------------------------------------------
def test_certificate_credential_gets_a_token(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    spn = _principal(sandbox, "spnCertificate")
    credential = CertificateCredential(
        sandbox["tenant_id"],
        spn["client_id"],
        certificate_data=spn["certificate"].encode("ascii"),
        **_kwargs(sandbox),
    )
    claims = _claims(sandbox, credential.get_token(sandbox.arm_scope).token)
    assert claims["appid"] == spn["client_id"]
    assert claims["appidacr"] == "2"


def _other_certificate() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impostor")])
    moment = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - datetime.timedelta(days=1))
        .not_valid_after(moment + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)


def test_unregistered_certificate_is_aadsts700027(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    spn = _principal(sandbox, "spnCertificate")
    credential = CertificateCredential(
        sandbox["tenant_id"],
        spn["client_id"],
        certificate_data=_other_certificate(),
        **_kwargs(sandbox),
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(sandbox.arm_scope)


def _assertion(sandbox: RunningSandbox, name: str, lifetime: int) -> str:
    """A client assertion signed with the registered certificate's key, as MSAL builds it."""
    spn = _principal(sandbox, name)
    pem = spn["certificate"].encode("ascii")
    key = serialization.load_pem_private_key(pem, password=None)
    cert = x509.load_pem_x509_certificate(pem)
    x5t = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode().rstrip("=")
    now = int(time.time())
    claims = {
        "aud": f"{sandbox.base_url}/{sandbox['tenant_id']}/oauth2/v2.0/token",
        "iss": spn["client_id"],
        "sub": spn["client_id"],
        "jti": str(uuid.uuid4()),
        "nbf": now - 3600 + lifetime,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t})  # type: ignore[arg-type]


def _post_assertion(sandbox: RunningSandbox, assertion: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/{sandbox['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": _principal(sandbox, "spnCertificate")["client_id"],
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": sandbox.arm_scope,
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )


def test_sha1_thumbprint_assertion_accepted_and_expired_one_is_aadsts700024(
    sandbox: RunningSandbox,
) -> None:
    fresh = _post_assertion(sandbox, _assertion(sandbox, "spnCertificate", 600))
    assert fresh.status_code == 200, fresh.text
    expired = _post_assertion(sandbox, _assertion(sandbox, "spnCertificate", -1200))
    assert expired.status_code == 400
    assert expired.json()["error_codes"] == [700024]


# --- workload identity federation -----------------------------------------------------------
def _pipelines_credential(
    sandbox: RunningSandbox, principal: str, access_token: str | None = None
) -> AzurePipelinesCredential:
    spn = _principal(sandbox, principal)
    variables = sandbox["devops"]["variables"]
    return AzurePipelinesCredential(
        tenant_id=sandbox["tenant_id"],
        client_id=spn["client_id"],
        service_connection_id=spn["service_connection_id"],
        system_access_token=access_token or variables["System.AccessToken"],
        **_kwargs(sandbox),
    )


@pytest.fixture
def oidc_env(sandbox_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    uri = sandbox_env["devops"]["variables"]["System.OidcRequestUri"]
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", uri)
    return sandbox_env


def test_azure_pipelines_credential_federates(oidc_env: RunningSandbox) -> None:
    sandbox = oidc_env
    credential = _pipelines_credential(sandbox, "workloadIdentityFederation")
    claims = _claims(sandbox, credential.get_token(sandbox.arm_scope).token)
    assert claims["appid"] == _principal(sandbox, "workloadIdentityFederation")["client_id"]


def test_oidc_endpoint_rejects_a_wrong_job_token(oidc_env: RunningSandbox) -> None:
    credential = _pipelines_credential(oidc_env, "workloadIdentityFederation", "not-a-job-token")
    with pytest.raises(ClientAuthenticationError):
        credential.get_token(oidc_env.arm_scope)


def test_federated_assertion_for_another_subject_is_aadsts70021(oidc_env: RunningSandbox) -> None:
    sandbox = oidc_env
    variables = sandbox["devops"]["variables"]
    issued = requests.post(
        variables["System.OidcRequestUri"],
        params={
            "api-version": "7.1",
            "serviceConnectionId": _principal(sandbox, "otherWif")["service_connection_id"],
        },
        headers={"Authorization": f"Bearer {variables['System.AccessToken']}"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    response = requests.post(
        f"{sandbox.base_url}/{sandbox['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": _principal(sandbox, "workloadIdentityFederation")["client_id"],
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": issued.json()["oidcToken"],
            "scope": sandbox.arm_scope,
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [70021]
    assert "sc://sandbox-org/sandbox-project/" in response.json()["error_description"]


# --- managed identity -----------------------------------------------------------------------
def test_managed_identity_credential_via_identity_endpoint(
    sandbox_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = sandbox_env
    for name, value in sandbox["managed_identity"].items():
        monkeypatch.setenv(name, value)
    mi = _principal(sandbox, "managedIdentity")
    credential = ManagedIdentityCredential(client_id=mi["client_id"])
    claims = _claims(sandbox, credential.get_token(sandbox.arm_scope).token)
    assert claims["oid"] == mi["object_id"]


def test_managed_identity_endpoint_needs_its_header(sandbox: RunningSandbox) -> None:
    response = requests.get(
        sandbox["managed_identity"]["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": sandbox["arm_audience"]},
        headers={"X-IDENTITY-HEADER": "wrong"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 401
    imds = requests.get(
        f"{sandbox.base_url}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": sandbox["arm_audience"]},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert imds.status_code == 400
    assert imds.json()["error_description"] == "Required metadata header not specified"


# --- MSAL directly, with the sandbox's instance discovery -----------------------------------
def test_msal_confidential_client(sandbox_env: RunningSandbox) -> None:
    # A custom authority needs instance_discovery=False in MSAL: with a discovery URL, MSAL
    # still asks login.microsoftonline.com for aliases when it reads its token cache.
    sandbox = sandbox_env
    spn = _principal(sandbox, "spnKey")
    instance_discovery = False
    app = msal.ConfidentialClientApplication(
        spn["client_id"],
        client_credential=spn["secret"],
        authority=f"{sandbox.base_url}/{sandbox['tenant_id']}",
        instance_discovery=instance_discovery,
    )
    result = app.acquire_token_for_client(scopes=[sandbox.arm_scope])
    assert "access_token" in result, result
    assert _claims(sandbox, result["access_token"])["appid"] == spn["client_id"]
    wrong = msal.ConfidentialClientApplication(
        spn["client_id"],
        client_credential="wrong",
        authority=f"{sandbox.base_url}/{sandbox['tenant_id']}",
        instance_discovery=instance_discovery,
    ).acquire_token_for_client(scopes=[sandbox.arm_scope])
    assert wrong["error"] == "invalid_client"
    assert 7000215 in wrong["error_codes"]


def test_msal_authority_validates_through_sandbox_instance_discovery(
    sandbox_env: RunningSandbox,
) -> None:
    sandbox = sandbox_env
    tenant = sandbox["tenant_id"]
    with requests.Session() as session:
        authority = msal.authority.Authority(
            f"{sandbox.base_url}/{tenant}",
            session,
            instance_discovery=f"{sandbox.base_url}/common/discovery/instance",
        )
        assert authority.token_endpoint == f"{sandbox.base_url}/{tenant}/oauth2/v2.0/token"
        with pytest.raises(ValueError, match="invalid_instance"):
            msal.authority.Authority(
                f"https://elsewhere.example/{tenant}",
                session,
                instance_discovery=f"{sandbox.base_url}/common/discovery/instance",
            )


def test_openid_configuration_and_unknown_tenant(sandbox: RunningSandbox) -> None:
    tenant = sandbox["tenant_id"]
    config = requests.get(
        f"{sandbox.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
        verify=sandbox.ca_bundle,
        timeout=10,
    ).json()
    assert config["token_endpoint"] == f"{sandbox.base_url}/{tenant}/oauth2/v2.0/token"
    assert config["issuer"] == f"{sandbox.base_url}/{tenant}/v2.0"
    missing = requests.get(
        f"{sandbox.base_url}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration",
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert missing.status_code == 400
    assert missing.json()["error_codes"] == [90002]
