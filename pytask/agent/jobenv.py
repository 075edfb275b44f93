"""The environment the agent gives a task, built for a local run (`pytask run`).

The inverse of `environment.py`, following the agent's Handler (AddInputsToEnvironment,
AddEndpointsToEnvironment, AddVariablesToEnvironment) and TaskRunner (default inputs merged,
inputs trimmed, `$(var)` macros expanded, filePath inputs rooted at the sources directory).
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytask.agent.connection import ServiceConnection
from pytask.agent.definition import TaskDefinition
from pytask.agent.environment import SYSTEM_VSS_CONNECTION, env_name

ACCESS_TOKEN_VARIABLE = "System.AccessToken"
COLLECTION_URI_VARIABLE = "System.TeamFoundationCollectionUri"
DEFAULT_COLLECTION_URI = "https://dev.azure.com/local/"
_MACRO = re.compile(r"\$\(([^()\s]+)\)")


class JobSpecError(ValueError):
    """A local run described wrongly (unknown input name and the like)."""


@dataclass(frozen=True)
class JobSpec:
    definition: TaskDefinition
    work_dir: Path
    sources_dir: Path
    inputs: Mapping[str, str] = field(default_factory=dict)
    connection: ServiceConnection | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    secret_variables: Mapping[str, str] = field(default_factory=dict, repr=False)


def job_environment(spec: JobSpec) -> dict[str, str]:
    """Only the variables the agent adds; the caller merges them over a clean base env."""
    variables = {**default_variables(spec.work_dir, spec.sources_dir), **spec.variables}
    secrets = dict(spec.secret_variables)
    token = variables.pop(ACCESS_TOKEN_VARIABLE, None) or secrets.get(ACCESS_TOKEN_VARIABLE)
    if token:
        secrets[ACCESS_TOKEN_VARIABLE] = token
    env: dict[str, str] = {"TF_BUILD": "True"}
    env.update({env_name(name): value for name, value in variables.items()})
    env["VSTS_PUBLIC_VARIABLES"] = json.dumps(sorted(variables))
    env.update({"SECRET_" + env_name(name): value for name, value in secrets.items()})
    env["VSTS_SECRET_VARIABLES"] = json.dumps(sorted(secrets))
    if spec.connection is not None:
        env.update(endpoint_environment(spec.connection))
    if token:
        env.update(system_connection_environment(variables[COLLECTION_URI_VARIABLE], token))
    lookup = {**variables, **secrets}
    for name, value in resolve_inputs(spec, lookup).items():
        env["INPUT_" + env_name(name)] = value
    return env


def resolve_inputs(spec: JobSpec, variables: Mapping[str, str]) -> dict[str, str]:
    """Every input of the task with its value, as the agent's TaskRunner prepares them."""
    given: dict[str, str] = {}
    for name, value in spec.inputs.items():
        item = spec.definition.find_input(name)
        if item is None:
            known = ", ".join(i.name for i in spec.definition.inputs)
            raise JobSpecError(
                f"{spec.definition.name} has no input named {name!r}; its inputs are: {known}"
            )
        given[item.name] = value
    resolved: dict[str, str] = {}
    for item in spec.definition.inputs:
        value = expand_macros(given.get(item.name, item.default_value).strip(), variables)
        if item.kind == "connectedService" and not value and spec.connection is not None:
            value = spec.connection.id
        if item.kind == "filePath":
            value = root_path(value, spec.sources_dir)
        resolved[item.name] = value
    return resolved


def endpoint_environment(connection: ServiceConnection) -> dict[str, str]:
    key = connection.id
    auth = {"parameters": dict(connection.parameters), "scheme": connection.scheme}
    env = {
        f"ENDPOINT_URL_{key}": connection.url,
        f"ENDPOINT_AUTH_{key}": json.dumps(auth),
        f"ENDPOINT_AUTH_SCHEME_{key}": connection.scheme,
        f"ENDPOINT_DATA_{key}": json.dumps(dict(connection.data)),
    }
    for name, value in connection.parameters.items():
        env[f"ENDPOINT_AUTH_PARAMETER_{key}_{env_name(name)}"] = value
    for name, value in connection.data.items():
        env[f"ENDPOINT_DATA_{key}_{env_name(name)}"] = value
    return env


def system_connection_environment(collection_uri: str, token: str) -> dict[str, str]:
    """SystemVssConnection: the job's own OAuth token, as every agent job carries it."""
    key = SYSTEM_VSS_CONNECTION
    return {
        f"ENDPOINT_URL_{key}": collection_uri,
        f"ENDPOINT_AUTH_{key}": json.dumps(
            {"parameters": {"AccessToken": token}, "scheme": "OAuth"}
        ),
        f"ENDPOINT_AUTH_SCHEME_{key}": "OAuth",
        f"ENDPOINT_AUTH_PARAMETER_{key}_ACCESSTOKEN": token,
    }


def default_variables(work_dir: Path, sources_dir: Path) -> dict[str, str]:
    """Job variables with local values, laid out like an agent's work folder."""
    build_dir = work_dir / "1"
    return {
        "Agent.WorkFolder": str(work_dir),
        "Agent.BuildDirectory": str(build_dir),
        "Agent.TempDirectory": str(work_dir / "_temp"),
        "Agent.ToolsDirectory": str(work_dir / "_tool"),
        "Agent.Name": "pytask-local",
        "Agent.MachineName": socket.gethostname(),
        "Agent.OS": _agent_os(),
        "Agent.JobStatus": "Succeeded",
        "Build.SourcesDirectory": str(sources_dir),
        "Build.ArtifactStagingDirectory": str(build_dir / "a"),
        "Build.StagingDirectory": str(build_dir / "a"),
        "Build.BinariesDirectory": str(build_dir / "b"),
        "Build.BuildId": "1",
        "Build.BuildNumber": "local.1",
        "Build.DefinitionName": "local",
        "Build.Reason": "Manual",
        "Build.Repository.Name": sources_dir.name,
        "Build.RequestedFor": _user(),
        "System.DefaultWorkingDirectory": str(sources_dir),
        COLLECTION_URI_VARIABLE: DEFAULT_COLLECTION_URI,
        "System.CollectionUri": DEFAULT_COLLECTION_URI,
        "System.TeamProject": "local",
        "System.TeamProjectId": "00000000-0000-0000-0000-000000000001",
        "System.HostType": "build",
        "System.DefinitionId": "1",
        "System.StageName": "local",
        "System.JobName": "local",
        "System.JobId": "00000000-0000-0000-0000-000000000002",
        "System.PlanId": "00000000-0000-0000-0000-000000000003",
        "System.JobAttempt": "1",
        "System.Debug": "false",
        "System.Culture": "en-US",
    }


def expand_macros(value: str, variables: Mapping[str, str]) -> str:
    """`$(Name)` -> the variable's value; unknown macros stay as written (as the agent does)."""
    by_key = {env_name(name): v for name, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        return by_key.get(env_name(match[1]), match[0])

    return _MACRO.sub(replace, value)


def root_path(value: str, sources_dir: Path) -> str:
    """The agent roots filePath inputs at the sources directory; empty becomes the root."""
    if not value:
        return str(sources_dir)
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else Path(os.path.normpath(sources_dir / path)))


def _agent_os() -> str:
    return {"Windows": "Windows_NT", "Darwin": "Darwin"}.get(platform.system(), "Linux")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"
