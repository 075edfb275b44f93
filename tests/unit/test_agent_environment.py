"""Variables, secret variables, service connections and the job token, as the agent passes them."""

from __future__ import annotations

import json
from pathlib import Path

from pytask.agent.environment import AgentEnvironment, env_name
from tests.helpers.agent_env import (
    CONNECTION_ID,
    Endpoint,
    agent_environ,
    endpoint_env,
    spn_key_endpoint,
)

TASK_JSON = Path(__file__).parent / "agent_fixture" / "task.json"


def test_env_name_follows_the_agent() -> None:
    assert env_name("System.Debug") == "SYSTEM_DEBUG"
    assert env_name("my var.name") == "MY_VAR_NAME"


def test_variables_by_pipeline_name(tmp_path: Path) -> None:
    env = agent_environ(TASK_JSON, tmp_path, variables={"Build.BuildId": "42"}, debug=True)
    captured = AgentEnvironment.capture(env)
    assert captured.variable("Build.BuildId") == "42"
    assert captured.variable("build.buildid") == "42"
    assert captured.variable("System.Debug") == "true"
    assert captured.variable("Nope") is None


def test_secret_variables_are_readable_and_removed_from_the_environment(tmp_path: Path) -> None:
    env = agent_environ(TASK_JSON, tmp_path, secrets={"Db.Password": "hunter2!"})
    env["SYSTEM_ACCESSTOKEN"] = "mapped-token-value"
    captured = AgentEnvironment.capture(env)
    assert captured.variable("Db.Password") == "hunter2!"
    assert "hunter2!" in captured.secret_values()
    assert "mapped-token-value" in captured.secret_values()
    leftovers = [k for k in env if k.startswith(("SECRET_", "INPUT_", "ENDPOINT_AUTH_"))]
    assert leftovers == [] and "SYSTEM_ACCESSTOKEN" not in env


def test_endpoint_from_the_auth_json(tmp_path: Path) -> None:
    endpoint = spn_key_endpoint(environmentAuthorityUrl="https://login.example/")
    env = agent_environ(TASK_JSON, tmp_path, endpoints=(endpoint,))
    connection = AgentEnvironment.capture(env).endpoint(CONNECTION_ID.upper())
    assert connection is not None
    assert connection.url == "https://management.azure.com/"
    assert connection.scheme == "ServicePrincipal"
    assert connection.parameter("authenticationType") == "spnKey"
    assert connection.data_value("environmentAuthorityUrl") == "https://login.example/"


def test_endpoint_from_individual_variables_only(tmp_path: Path) -> None:
    # Older agents and hand-made environments may carry only the per-key variables.
    endpoint = Endpoint(id="abc", scheme="ManagedServiceIdentity", parameters={"tenantid": "t"})
    env = {
        k: v
        for k, v in endpoint_env(endpoint).items()
        if k not in ("ENDPOINT_AUTH_abc", "ENDPOINT_DATA_abc")
    }
    env["ENDPOINT_DATA_abc_SUBSCRIPTIONID"] = "sub"
    connection = AgentEnvironment.capture(env).endpoint("abc")
    assert connection is not None
    assert connection.scheme == "ManagedServiceIdentity"
    assert connection.parameter("tenantid") == "t"
    assert connection.data_value("subscriptionId") == "sub"


def test_unknown_endpoint_is_none(tmp_path: Path) -> None:
    assert AgentEnvironment.capture(agent_environ(TASK_JSON, tmp_path)).endpoint("x") is None


def test_secret_auth_parameters_are_secrets_identifiers_are_not(tmp_path: Path) -> None:
    certificate = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    )
    endpoint = Endpoint(
        parameters={
            "tenantid": "tenant-guid",
            "serviceprincipalid": "client-guid",
            "authenticationType": "spnCertificate",
            "servicePrincipalCertificate": certificate,
            "somethingNew": "unknown-is-masked",
        }
    )
    env = agent_environ(TASK_JSON, tmp_path, endpoints=(endpoint,), access_token="job-token-1")
    secrets = AgentEnvironment.capture(env).secret_values()
    assert certificate in secrets
    assert "unknown-is-masked" in secrets
    assert "job-token-1" in secrets
    assert not {"tenant-guid", "client-guid", "spnCertificate"} & set(secrets)


def test_job_access_token_from_system_vss_connection(tmp_path: Path) -> None:
    env = agent_environ(TASK_JSON, tmp_path, access_token="job-token-2")
    captured = AgentEnvironment.capture(env)
    assert captured.access_token == "job-token-2"
    auth = json.loads(captured.scrubbed["ENDPOINT_AUTH_SYSTEMVSSCONNECTION"])
    assert auth["scheme"] == "OAuth"


def test_job_access_token_from_a_secret_variable(tmp_path: Path) -> None:
    env = agent_environ(TASK_JSON, tmp_path, secrets={"System.AccessToken": "job-token-3"})
    assert AgentEnvironment.capture(env).access_token == "job-token-3"


def test_connection_read_through_inputs_carries_the_job_token(tmp_path: Path) -> None:
    from pytask.agent.definition import load_definition
    from pytask.agent.inputs import Inputs

    env = agent_environ(
        TASK_JSON,
        tmp_path,
        inputs={"ConnectedServiceName": CONNECTION_ID},
        endpoints=(spn_key_endpoint(),),
        access_token="job-token-4",
    )
    inputs = Inputs(load_definition(TASK_JSON), AgentEnvironment.capture(env))
    connection = inputs.connection("azureSubscription")
    assert connection.access_token == "job-token-4"
    assert "job-token-4" not in repr(connection)
