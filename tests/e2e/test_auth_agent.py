"""The agent's path into the cloud, for every auth scheme: the job environment the agent
would give a task (ENDPOINT_*, SystemVssConnection token, System.OidcRequestUri), read back
by pytask.agent as the task reads it, then CloudSession.from_connection against the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytask.agent.definition import load_definition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.inputs import Inputs
from pytask.agent.jobenv import JobSpec, job_environment
from pytask.cloud import CloudSession
from pytask.cloud.credentials import OIDC_REQUEST_URI_VARIABLE
from tests.e2e.test_auth_connections import KINDS, RESOURCE_GROUPS_API, service_connection

pytestmark = pytest.mark.e2e

TASK_JSON = Path(__file__).resolve().parents[2] / "tasks" / "PublishVmApp" / "task.json"


@pytest.mark.parametrize("kind", KINDS)
def test_connection_read_by_the_agent_reaches_arm(
    sandbox_env: Any, kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = sandbox_env["connections"][kind]
    connection = service_connection(raw)
    spec = JobSpec(
        definition=load_definition(TASK_JSON),
        work_dir=tmp_path,
        sources_dir=tmp_path,
        inputs={"azureSubscription": connection.id},
        connection=connection,
        variables=raw.get("variables", {}),
    )
    environment = {**raw.get("env", {}), **job_environment(spec)}
    # What stays in the task's process environment for azure-identity to read (set even
    # when empty, so that monkeypatch undoes what the credential writes there).
    for name in (OIDC_REQUEST_URI_VARIABLE, "IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
        monkeypatch.setenv(name, environment.get(name, ""))

    inputs = Inputs(spec.definition, AgentEnvironment.capture(dict(environment)))
    read = inputs.connection("azureSubscription")
    assert read is not None and read.id == connection.id

    with CloudSession.from_connection(read) as session, session.arm() as arm:
        groups = arm.request(
            "GET", f"/subscriptions/{session.subscription_id}/resourcegroups", RESOURCE_GROUPS_API
        )
    assert "rg-seeded" in {group["name"] for group in groups["value"]}
