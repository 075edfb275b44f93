"""`pytask run`: the agent's environment built locally, and one real run of a fixture task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytask import localrun
from pytask.agent.connection import LOCAL_CLI_SCHEME
from pytask.agent.definition import load_definition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.inputs import Inputs
from tests.helpers.agent_env import REPO
from tests.helpers.vso import Output

TASK_JSON = Path(__file__).parent / "agent_fixture" / "task.json"
FIXTURE_MODULE = "tests.unit.agent_fixture.echo_task"
CONNECTION = {
    "id": "7d7cba2e-1111-4c3a-9d1e-3b5f6a7c8d9e",
    "name": "sandbox",
    "type": "azurerm",
    "url": "https://127.0.0.1:8443/",
    "scheme": "WorkloadIdentityFederation",
    "parameters": {
        "tenantid": "tenant-1",
        "serviceprincipalid": "client-1",
        "workloadIdentityFederationSubject": "sc://org/proj/sandbox",
    },
    "data": {"subscriptionId": "sub-1", "environmentAuthorityUrl": "https://127.0.0.1:8443/"},
    "variables": {
        "System.AccessToken": "job-token-xyz",
        "System.OidcRequestUri": "https://127.0.0.1:8443/oidc",
    },
}
SPN = {
    **CONNECTION,
    "id": "0a0b0c0d-2222-4c3a-9d1e-3b5f6a7c8d9e",
    "scheme": "ServicePrincipal",
    "parameters": {
        "tenantid": "tenant-1",
        "serviceprincipalid": "client-1",
        "authenticationType": "spnKey",
        "serviceprincipalkey": "spn-secret-123",
    },
    "variables": {},
}


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def prepare(tmp_path: Path, *argv: str) -> tuple[list[str], dict[str, str], Path]:
    args = localrun._parser().parse_args(
        ["AgentFixture", "--task-json", str(TASK_JSON), "--work-dir", str(tmp_path / "w"), *argv]
    )
    return localrun.prepare(args)


def test_bare_connection_file_builds_the_agent_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INPUT_RESOURCEGROUP", "stale-from-my-shell")
    file = write(tmp_path / "conn.json", {**CONNECTION, "ca_bundle": "ca.pem"})
    sources = tmp_path / "repo"
    sources.mkdir()
    command, env, cwd = prepare(
        tmp_path,
        "--connection", str(file),
        "--sources-dir", str(sources),
        "--input", "resourceGroup=$(Target.Group)",
        "--input", "ostype=Linux",
        "--input", "package=out/app.zip",
        "--variable", "Target.Group=rg-from-variable",
        "--secret", "Db.Password=pw-1",
    )  # fmt: skip
    key = CONNECTION["id"]
    assert command[1:] == ["-m", "pytask", "AgentFixture"]
    assert cwd == sources
    assert env["INPUT_CONNECTEDSERVICENAME"] == key  # filled with the connection's id
    assert env["INPUT_RESOURCEGROUP"] == "rg-from-variable"  # $(var) expanded
    assert env["INPUT_OSTYPE"] == "Linux"
    assert env["INPUT_RETRIES"] == "3"  # task.json default merged, as the agent does
    assert env["INPUT_DRYRUN"] == "false"
    assert env["INPUT_PACKAGE"] == str(sources / "out" / "app.zip")
    assert env["INPUT_REGIONS"] == ""
    assert env[f"ENDPOINT_URL_{key}"] == "https://127.0.0.1:8443/"
    assert env[f"ENDPOINT_AUTH_SCHEME_{key}"] == "WorkloadIdentityFederation"
    assert json.loads(env[f"ENDPOINT_AUTH_{key}"])["parameters"]["tenantid"] == "tenant-1"
    assert env[f"ENDPOINT_AUTH_PARAMETER_{key}_SERVICEPRINCIPALID"] == "client-1"
    assert env[f"ENDPOINT_DATA_{key}_SUBSCRIPTIONID"] == "sub-1"
    assert env["SYSTEM_OIDCREQUESTURI"] == "https://127.0.0.1:8443/oidc"
    assert env["ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"] == "job-token-xyz"
    assert env["SECRET_SYSTEM_ACCESSTOKEN"] == "job-token-xyz"
    assert "SYSTEM_ACCESSTOKEN" not in env  # a secret variable is never a plain one
    assert env["SECRET_DB_PASSWORD"] == "pw-1"
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == str(tmp_path / "ca.pem")
    assert env["PYTASK_TASK_JSON"] == str(TASK_JSON)
    assert env["SYSTEM_DEFAULTWORKINGDIRECTORY"] == env["BUILD_SOURCESDIRECTORY"] == str(sources)
    assert env["AGENT_TEMPDIRECTORY"] == str(tmp_path / "w" / "_temp")
    assert Path(env["AGENT_TEMPDIRECTORY"]).is_dir() and Path(env["AGENT_TOOLSDIRECTORY"]).is_dir()
    assert env["TF_BUILD"] == "True"


def test_the_built_environment_reads_back_through_the_agent_protocol(tmp_path: Path) -> None:
    file = write(tmp_path / "conn.json", SPN)
    _, env, _ = prepare(
        tmp_path, "--connection", str(file), "--input", "resourceGroup=rg", "--input",
        "osType=Windows", "--input", "package=app.zip",
    )  # fmt: skip
    captured = AgentEnvironment.capture(env)
    inputs = Inputs(load_definition(TASK_JSON), captured)
    assert inputs.problems() == []
    connection = inputs.connection("azureSubscription")
    assert (connection.id, connection.url, connection.scheme) == (
        SPN["id"],
        SPN["url"],
        "ServicePrincipal",
    )
    assert dict(connection.parameters) == SPN["parameters"]
    assert dict(connection.data) == SPN["data"]
    assert "spn-secret-123" in captured.secret_values()


def test_ready_file_with_auth_variants(tmp_path: Path) -> None:
    ready = {
        "arm_url": "https://127.0.0.1:8443/",
        "ca_bundle": str(tmp_path / "state" / "ca.pem"),
        "connection": SPN,
        "connections": {"secret": SPN, "wif": CONNECTION},
    }
    file = write(tmp_path / "ready.json", ready)
    _, env, _ = prepare(tmp_path, "--connection", str(file))
    assert env["INPUT_CONNECTEDSERVICENAME"] == SPN["id"]
    assert env["REQUESTS_CA_BUNDLE"] == str(tmp_path / "state" / "ca.pem")
    _, env, _ = prepare(tmp_path, "--connection", str(file), "--auth", "wif")
    assert env["INPUT_CONNECTEDSERVICENAME"] == CONNECTION["id"]
    with pytest.raises(localrun.RunError, match=r"no connection variant 'msi'.*secret, wif"):
        prepare(tmp_path, "--connection", str(file), "--auth", "msi")


def test_connection_env_block_becomes_plain_environment(tmp_path: Path) -> None:
    msi = {**SPN, "scheme": "ManagedServiceIdentity", "env": {"IDENTITY_ENDPOINT": "https://x/"}}
    _, env, _ = prepare(tmp_path, "--connection", str(write(tmp_path / "c.json", msi)))
    assert env["IDENTITY_ENDPOINT"] == "https://x/"


def test_explicit_connected_service_input_wins(tmp_path: Path) -> None:
    file = write(tmp_path / "conn.json", SPN)
    _, env, _ = prepare(tmp_path, "--connection", str(file), "--input", "azureSubscription=other")
    assert env["INPUT_CONNECTEDSERVICENAME"] == "other"


def test_without_a_connection_the_developer_login_is_used(tmp_path: Path) -> None:
    _, env, _ = prepare(tmp_path, "--subscription", "my-sub")
    key = localrun.LOCAL_CLI_CONNECTION_ID
    assert env[f"ENDPOINT_AUTH_SCHEME_{key}"] == LOCAL_CLI_SCHEME
    assert env[f"ENDPOINT_DATA_{key}_SUBSCRIPTIONID"] == "my-sub"
    assert env["INPUT_CONNECTEDSERVICENAME"] == key


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "nope=1"], "AgentFixture has no input named 'nope'"),
        (["--input", "novalue"], "--input expects NAME=VALUE"),
        (["--connection", "/does/not/exist.json"], "cannot read the connection file"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = localrun.main(["AgentFixture", "--task-json", str(TASK_JSON), *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unknown_task_without_task_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert localrun.main(["NoSuchTask"]) == 2
    assert "unknown task 'NoSuchTask'" in capsys.readouterr().err


def _run_fixture(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, Output, dict[str, object]]:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    (tmp_path / "ca.pem").write_text("not used by the fixture")
    file = write(tmp_path / "conn.json", {**SPN, "ca_bundle": "ca.pem", "variables": {
        "System.AccessToken": "job-token-e2e"}})  # fmt: skip
    code = localrun.main(
        ["AgentFixture", "--task-json", str(TASK_JSON), "--module", FIXTURE_MODULE,
         "--connection", str(file), "--sources-dir", str(tmp_path),
         "--work-dir", str(tmp_path / "w"), *argv]
    )  # fmt: skip
    out = Output(capfd.readouterr().out)
    reports = [line[len("REPORT ") :] for line in out.plain if line.startswith("REPORT ")]
    return code, out, json.loads(reports[0]) if reports else {}


def test_end_to_end_run_of_a_fixture_task(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, report = _run_fixture(
        tmp_path, capfd, monkeypatch,
        "--input", "resourceGroup=rg-e2e", "--input", "osType=windows",
        "--input", "package=app.zip", "--input", "regions=westeurope\neastus",
    )  # fmt: skip
    assert code == 0
    assert out.result == "Succeeded"
    assert out.outputs == {"versionId": "v-1"}
    assert {"spn-secret-123", "job-token-e2e"} <= set(out.secrets)
    assert report["resourceGroup"] == "rg-e2e"
    assert report["osType"] == "Windows"
    assert report["retries"] == 3 and report["dryRun"] is False
    assert report["regions"] == ["westeurope", "eastus"]
    assert report["package"] == str(tmp_path / "app.zip")
    assert report["connection"] == {
        "id": SPN["id"],
        "url": SPN["url"],
        "scheme": "ServicePrincipal",
    }
    assert report["subscription"] == "sub-1"
    assert report["has_key"] is True and report["has_token"] is True
    assert report["leaked_env"] == []  # secrets and inputs were taken out of os.environ
    assert report["ca"] == str(tmp_path / "ca.pem")
    assert report["temp"] == str(tmp_path / "w" / "_temp")


def test_end_to_end_failure_is_a_failed_result_with_exit_code_0(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _run_fixture(
        tmp_path, capfd, monkeypatch, "--input", "resourceGroup=fail", "--input", "osType=Linux",
        "--input", "package=app.zip",
    )  # fmt: skip
    assert code == 0
    assert out.result == "Failed"
    assert out.errors == ["Resource group 'fail' is locked."]


def test_end_to_end_missing_required_input(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, report = _run_fixture(tmp_path, capfd, monkeypatch, "--input", "osType=Linux")
    assert code == 0 and report == {}
    assert out.result == "Failed"
    assert out.errors == [
        "Input 'Resource group' (resourceGroup) is required; expected a value.",
        "Input 'Package' (package) is required; expected a path to a file or folder.",
    ]


def test_through_the_pytask_command_line(tmp_path: Path) -> None:
    from tests.helpers.agent_env import run_pytask

    file = write(tmp_path / "conn.json", SPN)
    code, out, stderr = run_pytask(
        "AgentFixture",
        connection=file,
        inputs={"resourceGroup": "rg", "osType": "Linux", "package": "p.zip"},
        work=tmp_path / "w",
        sources=tmp_path,
        extra=("--task-json", str(TASK_JSON), "--module", FIXTURE_MODULE),
    )
    assert code == 0, stderr
    assert out.result == "Succeeded"
    assert out.outputs == {"versionId": "v-1"}
