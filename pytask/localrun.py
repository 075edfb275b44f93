"""`pytask run`: run one task locally exactly as the Azure Pipelines agent would.

    pytask run TASKNAME [--connection FILE [--auth VARIANT]] [--input NAME=VALUE ...]
                        [--variable NAME=VALUE ...] [--secret NAME=VALUE ...]
                        [--task-json PATH] [--work-dir DIR] [--sources-dir DIR]
                        [--subscription ID]

FILE is a sandbox ready-file (`connection`, `connections` {variant: connection},
`ca_bundle`) or a bare connection in the same shape::

    {"id": "...", "name": "...", "type": "azurerm", "url": "https://management.azure.com/",
     "scheme": "ServicePrincipal", "parameters": {...}, "data": {...}, "variables": {...},
     "ca_bundle": "optional/path.pem"}

The connection's `variables` become job variables and its optional `env` plain environment
variables (a managed identity endpoint, say). `System.AccessToken` is a secret variable and
also the SystemVssConnection token; `System.OidcRequestUri` is what workload identity
federation calls. A CA bundle named in FILE is trusted for the run (REQUESTS_CA_BUNDLE,
SSL_CERT_FILE). Without --connection the task gets a connection with scheme
`LocalAzureCli` (pytask.agent.LOCAL_CLI_SCHEME): the cloud layer then uses your own
`az login`; `--subscription` names the subscription.

The job's folders follow an agent's work folder (`--work-dir`, default a new temp dir:
Agent.TempDirectory = _temp, Agent.ToolsDirectory = _tool, Build.ArtifactStagingDirectory =
1/a), except that System.DefaultWorkingDirectory and Build.SourcesDirectory are your checkout
(`--sources-dir`, default the current directory): relative filePath inputs are rooted there,
so they mean locally what they mean on the agent.

The child is `python -m pytask TASKNAME` in the agent's environment: the output is the task's
own ##vso output, and the exit code is the child's. `--module` (for tests of the task runtime
itself) runs `python -m MODULE` instead; it has no effect on how real tasks run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytask.agent.connection import LOCAL_CLI_SCHEME, ServiceConnection
from pytask.agent.definition import (
    TASK_JSON_ENV,
    DefinitionError,
    find_task_json,
    load_definition,
)
from pytask.agent.jobenv import JobSpec, JobSpecError, job_environment

LOCAL_CLI_CONNECTION_ID = "00000000-0000-0000-0000-00000000c11a"
PUBLIC_ARM_URL = "https://management.azure.com/"
# Inherited variables the agent would never pass to a task from the developer's shell.
_STRIPPED_PREFIXES = ("INPUT_", "ENDPOINT_", "SECRET_", "VSTS_")


class RunError(Exception):
    """A local run described wrongly; reported on stderr with exit code 2."""


@dataclass(frozen=True)
class ConnectionFile:
    connection: ServiceConnection
    variables: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        command, env, cwd = prepare(args)
    except (RunError, DefinitionError, JobSpecError) as exc:
        print(f"pytask run: {exc}", file=sys.stderr)
        return 2
    return subprocess.run(command, env=env, cwd=cwd, check=False).returncode


def prepare(args: argparse.Namespace) -> tuple[list[str], dict[str, str], Path]:
    """The child's command line, environment and working directory."""
    task_json = Path(args.task_json) if args.task_json else _find_task_json(args.task)
    definition = load_definition(task_json.resolve())
    source = (
        read_connection_file(Path(args.connection), args.auth)
        if args.connection
        else local_cli_connection(args.subscription)
    )
    sources_dir = Path(args.sources_dir or os.getcwd()).resolve()
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="pytask-run-")).resolve()
    spec = JobSpec(
        definition=definition,
        work_dir=work_dir,
        sources_dir=sources_dir,
        inputs=_pairs(args.input, "--input"),
        connection=source.connection,
        variables={**source.variables, **_pairs(args.variable, "--variable")},
        secret_variables=_pairs(args.secret, "--secret"),
    )
    env = clean_base_environment(os.environ)
    env.update(source.env)
    env.update(job_environment(spec))
    env[TASK_JSON_ENV] = str(task_json.resolve())
    if source.ca_bundle is not None:
        env["REQUESTS_CA_BUNDLE"] = env["SSL_CERT_FILE"] = str(source.ca_bundle)
    for folder in ("Agent.TempDirectory", "Agent.ToolsDirectory"):
        Path(env[folder.replace(".", "_").upper()]).mkdir(parents=True, exist_ok=True)
    module = ["-m", args.module] if args.module else ["-m", "pytask", args.task]
    return [sys.executable, *module], env, sources_dir


def read_connection_file(path: Path, variant: str | None) -> ConnectionFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read the connection file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RunError(f"{path} is not a JSON object")
    raw = _pick_connection(data, variant, path)
    bundle = raw.get("ca_bundle") or data.get("ca_bundle")
    return ConnectionFile(
        connection=parse_connection(raw, path),
        variables=_strings(raw.get("variables")),
        env=_strings(raw.get("env")),
        ca_bundle=(path.parent / str(bundle)).resolve() if bundle else None,
    )


def parse_connection(raw: Mapping[str, Any], path: Path) -> ServiceConnection:
    missing = [key for key in ("id", "url") if not raw.get(key)]
    if missing:
        raise RunError(f"the connection in {path} has no {' or '.join(missing)}")
    return ServiceConnection(
        id=str(raw["id"]),
        url=str(raw["url"]),
        scheme=str(raw.get("scheme") or ""),
        parameters=_strings(raw.get("parameters")),
        data=_strings(raw.get("data")),
    )


def local_cli_connection(subscription: str | None) -> ConnectionFile:
    data = {"environment": "AzureCloud"}
    if subscription:
        data["subscriptionId"] = subscription
    connection = ServiceConnection(
        id=LOCAL_CLI_CONNECTION_ID, url=PUBLIC_ARM_URL, scheme=LOCAL_CLI_SCHEME, data=data
    )
    return ConnectionFile(connection=connection)


def clean_base_environment(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not k.upper().startswith(_STRIPPED_PREFIXES)}


def _pick_connection(data: Mapping[str, Any], variant: str | None, path: Path) -> dict[str, Any]:
    if variant:
        variants = data.get("connections") or {}
        if variant not in variants:
            known = ", ".join(sorted(variants)) or "none"
            raise RunError(f"{path} has no connection variant {variant!r} (variants: {known})")
        return dict(variants[variant])
    if isinstance(data.get("connection"), dict):
        return dict(data["connection"])
    return dict(data)


def _find_task_json(task: str) -> Path:
    from pytask.cli import TASK_MODULES

    if task not in TASK_MODULES:
        known = ", ".join(TASK_MODULES)
        raise RunError(f"unknown task {task!r}; tasks are: {known} (or pass --task-json)")
    return find_task_json(task, {})


def _pairs(items: Sequence[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise RunError(f"{option} expects NAME=VALUE, got {item!r}")
        pairs[name.strip()] = value
    return pairs


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytask run",
        description="Run one task locally exactly as the Azure Pipelines agent would.",
    )
    parser.add_argument("task", metavar="TASKNAME")
    parser.add_argument("--connection", metavar="FILE", help="sandbox ready-file or connection")
    parser.add_argument("--auth", metavar="VARIANT", help="pick FILE's connections[VARIANT]")
    parser.add_argument("--input", action="append", metavar="NAME=VALUE", help="task input")
    parser.add_argument("--variable", action="append", metavar="NAME=VALUE", help="job variable")
    parser.add_argument("--secret", action="append", metavar="NAME=VALUE", help="secret variable")
    parser.add_argument("--task-json", metavar="PATH", help="task.json to use")
    parser.add_argument("--work-dir", metavar="DIR", help="agent work folder (default: new temp)")
    parser.add_argument("--sources-dir", metavar="DIR", help="checkout root (default: cwd)")
    parser.add_argument("--subscription", metavar="ID", help="with your az login: subscription")
    parser.add_argument("--module", help=argparse.SUPPRESS)
    return parser
