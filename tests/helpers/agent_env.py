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
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import secret_scan
from tests.helpers.vso import Output

REPO = Path(__file__).resolve().parents[2]
CONNECTION_ID = "5f6e1c2a-0000-4000-8000-00000000abcd"
# Endpoint auth parameters that are credentials (registered for the session's secret scan).
SECRET_PARAMETERS = {"serviceprincipalkey", "serviceprincipalcertificate", "accesstoken"}


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
    for name, value in endpoint.parameters.items():
        if name.lower() in SECRET_PARAMETERS:
            secret_scan.register(f"connection {name}", value)
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
    for value in (secrets or {}).values():
        secret_scan.register("secret variable", value)
    secret_scan.register("job access token", access_token)
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
    """Run a command (e.g. `python -m pytask Task`); returns exit code, parsed stdout, stderr.
    Both streams are also kept under the session's temp dir for its secret scan."""
    proc = subprocess.run(
        args, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    secret_scan.save_task_run(_run_name(args), proc.stdout, proc.stderr)
    return proc.returncode, Output(proc.stdout), proc.stderr


def _run_name(args: list[str]) -> str:
    """A file name for a run's logs: the task for `pytask run TASK`, else the program."""
    if "run" in args[:-1]:
        return args[args.index("run") + 1]
    return Path(args[1] if len(args) > 1 else args[0]).name


def _minimal_base() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = str(REPO)
    return env


def pytask_run_command(
    task: str,
    connection: Path | None,
    inputs: Mapping[str, str] | None,
    variables: Mapping[str, str] | None,
    work: Path | None,
    sources: Path | None,
    auth: str | None = None,
) -> list[str]:
    """The `pytask run` command line for a task, its inputs and variables."""
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
    return args


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
    args = pytask_run_command(task, connection, inputs, variables, work, sources, auth)
    base = dict(env) if env is not None else {**os.environ, "PYTHONPATH": str(REPO)}
    return run_subprocess([*args, *extra], base, cwd=sources)


@dataclass
class StartedTask:
    """A task started by `start_pytask`, in its own process group so that a kill reaches the
    task's Python process (the child `pytask run` starts), not only its parent. Its output is
    read into memory as it comes (never a file holding the raw `task.setsecret` stream)."""

    task: str
    process: subprocess.Popen[str]
    readers: list[threading.Thread]
    stdout: list[str]
    stderr: list[str]

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL the whole group (no cleanup, no finally blocks); False if it had ended."""
        if not self.running():
            return False
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        return True

    def wait(self, timeout: float = 120) -> tuple[int, Output, str]:
        """Exit code, parsed ##vso output and stderr once the task ends (or was killed)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for reader in self.readers:
            reader.join(timeout=30)
        stdout, stderr = "".join(self.stdout), "".join(self.stderr)
        _keep_log(self.task, stdout, stderr)
        return code, Output(stdout), stderr


def _keep_log(task: str, stdout: str, stderr: str) -> None:
    """Hand the run to the session's secret scan as run_subprocess does, where it exists."""
    try:
        from tests.helpers import secret_scan
    except ImportError:  # a checkout without the scan
        return
    secret_scan.save_task_run(task, stdout, stderr)


def _drain(stream: Any, into: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.extend(iter(stream.readline, "")), daemon=True)
    thread.start()
    return thread


def start_pytask(
    task: str,
    *,
    connection: Path | None = None,
    inputs: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    work: Path | None = None,
    sources: Path | None = None,
) -> StartedTask:
    """`run_pytask` without waiting: the same command line, started in a new session so that
    `kill()` can SIGKILL it at any moment."""
    args = pytask_run_command(task, connection, inputs, variables, work, sources)
    process = subprocess.Popen(
        args,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=sources,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stdout: list[str] = []
    stderr: list[str] = []
    readers = [_drain(process.stdout, stdout), _drain(process.stderr, stderr)]
    return StartedTask(task, process, readers, stdout, stderr)
