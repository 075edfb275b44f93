"""An agent-like environment for task tests, spelled out the way the agent's Handler spells
it (INPUT_*, ENDPOINT_*, SECRET_*, job variables), independently of pytask.agent.

Typical use::

    env = agent_environ(task_json, tmp_path, inputs={"resourceGroup": "rg"},
                        connection=azurerm_connection(...))
    out = run_in_process(task_name, body, env)   # or pass env to a subprocess
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.vso import Output

REPO = Path(__file__).resolve().parents[2]
CONNECTION_ID = "5f6e1c2a-0000-4000-8000-00000000abcd"


def env_key(name: str) -> str:
    return name.replace(".", "_").replace(" ", "_").upper()


@dataclass(frozen=True)
class Endpoint:
    """A service connection as the agent passes it."""

    id: str = CONNECTION_ID
    url: str = "https://management.azure.com/"
    scheme: str = "ServicePrincipal"
    parameters: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)


def endpoint_from_json(raw: Mapping[str, Any]) -> Endpoint:
    """An Endpoint from a connection as a sandbox ready-file describes it."""
    return Endpoint(
        id=str(raw["id"]),
        url=str(raw["url"]),
        scheme=str(raw.get("scheme", "")),
        parameters=dict(raw.get("parameters") or {}),
        data=dict(raw.get("data") or {}),
    )


def spn_key_endpoint(secret: str = "s3cr3t-Key~value", **data: str) -> Endpoint:
    return Endpoint(
        parameters={
            "tenantid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "serviceprincipalid": "11111111-2222-3333-4444-555555555555",
            "authenticationType": "spnKey",
            "serviceprincipalkey": secret,
        },
        data={"subscriptionId": "00000000-0000-0000-0000-0000000000aa", **data},
    )


def endpoint_env(endpoint: Endpoint) -> dict[str, str]:
    key = endpoint.id
    env = {
        f"ENDPOINT_URL_{key}": endpoint.url,
        f"ENDPOINT_AUTH_{key}": json.dumps(
            {"parameters": dict(endpoint.parameters), "scheme": endpoint.scheme}
        ),
        f"ENDPOINT_AUTH_SCHEME_{key}": endpoint.scheme,
        f"ENDPOINT_DATA_{key}": json.dumps(dict(endpoint.data)),
    }
    env.update(
        {f"ENDPOINT_AUTH_PARAMETER_{key}_{k.upper()}": v for k, v in endpoint.parameters.items()}
    )
    env.update({f"ENDPOINT_DATA_{key}_{k.upper()}": v for k, v in endpoint.data.items()})
    return env


def agent_environ(
    task_json: Path,
    work: Path,
    *,
    inputs: Mapping[str, str] | None = None,
    endpoints: tuple[Endpoint, ...] = (),
    variables: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    access_token: str | None = None,
    debug: bool = False,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A complete task environment: `base` (default: PATH/HOME only) plus the agent's part.

    Inputs are only those given (plus task.json defaults, as the agent merges them)."""
    definition = json.loads(task_json.read_text())
    sources = work / "s"
    temp = work / "_temp"
    for folder in (sources, temp):
        folder.mkdir(parents=True, exist_ok=True)
    env = dict(base) if base is not None else _minimal_base()
    job = {
        "System.DefaultWorkingDirectory": str(sources),
        "Build.SourcesDirectory": str(sources),
        "Agent.TempDirectory": str(temp),
        "System.Debug": "true" if debug else "false",
        "System.TeamFoundationCollectionUri": "https://dev.azure.com/contoso/",
        **(variables or {}),
    }
    env.update({env_key(k): v for k, v in job.items()})
    env.update({"SECRET_" + env_key(k): v for k, v in (secrets or {}).items()})
    env["TF_BUILD"] = "True"
    env["PYTASK_TASK_JSON"] = str(task_json)
    given = {k.lower(): v for k, v in (inputs or {}).items()}
    for item in definition.get("inputs", []):
        value = given.get(item["name"].lower(), str(item.get("defaultValue", "")))
        if isinstance(item.get("defaultValue"), bool) and item["name"].lower() not in given:
            value = "true" if item["defaultValue"] else "false"
        env["INPUT_" + env_key(item["name"])] = value
    for endpoint in endpoints:
        env.update(endpoint_env(endpoint))
    if access_token:
        env["ENDPOINT_URL_SYSTEMVSSCONNECTION"] = job["System.TeamFoundationCollectionUri"]
        env["ENDPOINT_AUTH_SYSTEMVSSCONNECTION"] = json.dumps(
            {"parameters": {"AccessToken": access_token}, "scheme": "OAuth"}
        )
        env["ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION"] = "OAuth"
        env["ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"] = access_token
    return env


def run_in_process(
    task_name: str,
    body: Callable[[Any], None],
    env: Mapping[str, str],
    *,
    checks: tuple[Any, ...] = (),
) -> tuple[int, Output]:
    """Run a task body through pytask.agent.run_task with `env` as its environment."""
    from pytask.agent import run_task

    stream = io.StringIO()
    environ = dict(env)
    code = run_task(task_name, body, checks=checks, environ=environ, stream=stream)
    return code, Output(stream.getvalue())


def run_subprocess(
    args: list[str], env: Mapping[str, str], cwd: Path | None = None
) -> tuple[int, Output, str]:
    """Run a command (e.g. `python -m pytask Task`); returns exit code, parsed stdout, stderr."""
    proc = subprocess.run(
        args, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    return proc.returncode, Output(proc.stdout), proc.stderr


def _minimal_base() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = str(REPO)
    return env


def run_pytask(
    task: str,
    *,
    connection: Path | None = None,
    inputs: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    auth: str | None = None,
    work: Path | None = None,
    sources: Path | None = None,
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[int, Output, str]:
    """`pytask run TASK ...` as a developer would type it (a sandbox ready-file as
    `connection`); returns the exit code, the parsed ##vso output and stderr."""
    args = [sys.executable, "-m", "pytask", "run", task]
    if connection is not None:
        args += ["--connection", str(connection)]
    if auth:
        args += ["--auth", auth]
    if work is not None:
        args += ["--work-dir", str(work)]
    if sources is not None:
        args += ["--sources-dir", str(sources)]
    for name, value in (inputs or {}).items():
        args += ["--input", f"{name}={value}"]
    for name, value in (variables or {}).items():
        args += ["--variable", f"{name}={value}"]
    base = dict(env) if env is not None else {**os.environ, "PYTHONPATH": str(REPO)}
    return run_subprocess([*args, *extra], base, cwd=sources)
