"""The ready-file's service connections are what the product consumes: each variant, read the
way the agent passes it, yields a working credential through pytask.cloud (same code path as a
pipeline), and its parameter keys are spelled as azure-pipelines-tasks reads them."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests

from pytask.agent.connection import ServiceConnection
from pytask.cloud.credentials import JobIdentity
from pytask.cloud.session import CloudSession
from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e

EXPECTED_PARAMETERS = {
    "spnKey": {"tenantid", "serviceprincipalid", "authenticationType", "serviceprincipalkey"},
    "spnCertificate": {
        "tenantid",
        "serviceprincipalid",
        "authenticationType",
        "servicePrincipalCertificate",
    },
    "workloadIdentityFederation": {
        "tenantid",
        "serviceprincipalid",
        "workloadIdentityFederationIssuer",
        "workloadIdentityFederationSubject",
    },
    "managedIdentity": {"tenantid"},
}
DATA_KEYS = {
    "subscriptionId",
    "subscriptionName",
    "environment",
    "environmentAuthorityUrl",
    "activeDirectoryServiceEndpointResourceId",
    "scopeLevel",
    "creationMode",
}


def test_connection_shapes(sandbox: RunningSandbox) -> None:
    connections: dict[str, dict[str, Any]] = sandbox["connections"]
    assert sandbox["connection"] == connections["spnKey"]
    for variant, expected in EXPECTED_PARAMETERS.items():
        connection = connections[variant]
        assert connection["type"] == "azurerm"
        assert connection["url"] == sandbox.arm_url
        assert set(connection["parameters"]) == expected
        assert set(connection["data"]) >= DATA_KEYS
    wif = connections["workloadIdentityFederation"]
    assert wif["scheme"] == "WorkloadIdentityFederation"
    assert wif["parameters"]["workloadIdentityFederationSubject"] == (
        f"sc://sandbox-org/sandbox-project/{wif['name']}"
    )
    assert {"System.OidcRequestUri", "System.AccessToken", "System.PlanId", "System.JobId"} <= set(
        wif["variables"]
    )
    managed = connections["managedIdentity"]
    assert managed["scheme"] == "ManagedServiceIdentity"
    assert managed["data"]["msiclientId"] == sandbox["principals"]["managedIdentity"]["client_id"]


@pytest.mark.parametrize(
    "variant", ["spnKey", "spnCertificate", "workloadIdentityFederation", "managedIdentity"]
)
def test_every_connection_lists_resource_groups_through_pytask_cloud(
    sandbox_env: RunningSandbox, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    described = sandbox_env["connections"][variant]
    for name, value in described.get("env", {}).items():
        monkeypatch.setenv(name, value)
    variables = described.get("variables", {})
    connection = ServiceConnection(
        id=described["id"],
        url=described["url"],
        scheme=described["scheme"],
        parameters=described["parameters"],
        data=described["data"],
        access_token=variables.get("System.AccessToken"),
    )
    job = JobIdentity(
        access_token=variables.get("System.AccessToken"),
        oidc_request_uri=variables.get("System.OidcRequestUri"),
    )
    with CloudSession.from_connection(connection, job) as session:
        assert session.endpoints.resource_manager == sandbox_env.base_url
        token = session.credential.get_token(session.endpoints.arm_scope).token
    response = requests.get(
        f"{sandbox_env.base_url}/subscriptions/{sandbox_env['subscription_id']}"
        "/resourcegroups/rg-seeded",
        params={"api-version": "2025-04-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=sandbox_env.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["appid"] == sandbox_env["principals"][variant]["client_id"]
