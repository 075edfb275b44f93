"""Every AzureRM auth scheme, end to end: a CloudSession built from the sandbox's service
connections discovers the cloud, gets a token from the sandbox's Entra (or its job OIDC /
managed identity endpoints) and ARM accepts it. Real azure-identity, real SDK clients."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError

from pytask.agent.connection import ServiceConnection
from pytask.cloud import ClientPolicy, CloudSession, JobIdentity
from pytask.cloud.credentials import OIDC_REQUEST_URI_VARIABLE

pytestmark = pytest.mark.e2e

KINDS = ("spnKey", "spnCertificate", "workloadIdentityFederation", "managedIdentity")
RESOURCE_GROUPS_API = "2021-04-01"


def service_connection(raw: dict[str, Any], **parameters: str) -> ServiceConnection:
    """The connection as pytask.agent reads it from ENDPOINT_* variables."""
    return ServiceConnection(
        id=raw["id"],
        url=raw["url"],
        scheme=raw["scheme"],
        parameters={**raw.get("parameters", {}), **parameters},
        data=raw.get("data", {}),
    )


def session_for(
    sandbox: Any,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
    policy: ClientPolicy | None = None,
    **parameters: str,
) -> CloudSession:
    """What a task does: its job's environment, then CloudSession.from_connection."""
    raw = sandbox["connections"][kind]
    for name, value in raw.get("env", {}).items():
        monkeypatch.setenv(name, value)
    variables = raw.get("variables", {})
    # Registered with monkeypatch so the value the credential sets is undone after the test.
    monkeypatch.setenv(OIDC_REQUEST_URI_VARIABLE, "unset")
    job = JobIdentity(
        access_token=variables.get("System.AccessToken"),
        oidc_request_uri=variables.get("System.OidcRequestUri"),
    )
    return CloudSession.from_connection(service_connection(raw, **parameters), job, policy)


@pytest.mark.parametrize("kind", KINDS)
def test_each_scheme_gets_a_token_that_arm_accepts(
    sandbox_env: Any, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = session_for(sandbox_env, kind, monkeypatch)
    assert session.endpoints.authority == sandbox_env.base_url
    assert session.subscription_id == sandbox_env["subscription_id"]

    token = session.credential.get_token(session.endpoints.arm_scope).token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"].rstrip("/") == sandbox_env["arm_audience"].rstrip("/")
    assert claims["appid"] == sandbox_env["principals"][kind]["client_id"]
    assert claims["tid"] == sandbox_env["tenant_id"]

    with session.arm() as arm:
        groups = arm.request(
            "GET", f"/subscriptions/{session.subscription_id}/resourcegroups", RESOURCE_GROUPS_API
        )
    assert "rg-seeded" in {group["name"] for group in groups["value"]}


def test_session_discovers_the_sandbox_cloud(sandbox_env: Any, monkeypatch: Any) -> None:
    endpoints = session_for(sandbox_env, "spnKey", monkeypatch).endpoints
    assert endpoints.resource_manager == sandbox_env.arm_url.rstrip("/")
    assert endpoints.arm_audience == sandbox_env["arm_audience"]
    assert endpoints.portal and endpoints.portal.startswith(sandbox_env.base_url)
    assert endpoints.log_analytics and endpoints.log_analytics.startswith(sandbox_env.base_url)


def test_wrong_secret_is_refused_by_entra(sandbox_env: Any, monkeypatch: Any) -> None:
    session = session_for(sandbox_env, "spnKey", monkeypatch, serviceprincipalkey="wrong")
    with pytest.raises(ClientAuthenticationError, match="AADSTS"):
        session.credential.get_token(session.endpoints.arm_scope)


def test_workload_identity_with_a_foreign_job_token_is_refused(
    sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = sandbox_env["connections"]["workloadIdentityFederation"]
    monkeypatch.setenv(OIDC_REQUEST_URI_VARIABLE, raw["variables"]["System.OidcRequestUri"])
    job = JobIdentity(access_token="not-this-jobs-token")
    session = CloudSession.from_connection(service_connection(raw), job)
    with pytest.raises(ClientAuthenticationError):
        session.credential.get_token(session.endpoints.arm_scope)


def test_sdk_client_from_the_session_reaches_the_sandbox(
    sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = session_for(sandbox_env, "spnCertificate", monkeypatch)
    with session.compute() as compute:
        galleries = list(compute.galleries.list_by_resource_group("rg-seeded"))
    assert galleries == []


def test_blob_upload_with_an_entra_token_for_the_storage_audience(
    sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox's scaled Retry-After rounds to 0, which azure-core treats as absent: poll
    # at the policy's own interval, kept short here.
    fast = ClientPolicy(polling_interval=0.2)
    session = session_for(sandbox_env, "workloadIdentityFederation", monkeypatch, fast)
    name = "st" + uuid.uuid4().hex[:16]
    body = {
        "location": "eastus",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "properties": {"allowSharedKeyAccess": False},
    }
    with session.storage() as storage:
        storage.storage_accounts.begin_create("rg-seeded", name, body).result()
    blobs = session.blob_service_for_account("rg-seeded", name)
    container = blobs.create_container("packages")
    container.upload_blob("app/1.0.0/app.zip", b"payload", overwrite=True)
    assert container.download_blob("app/1.0.0/app.zip").readall() == b"payload"
