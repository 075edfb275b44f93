"""PublishVmApp refuses bad input before touching Azure: one clear error per problem, naming
the input, and not a single request reaches the sandbox.

Run in-process through the agent runner with an agent-like environment (the same code path as
`pytask run` minus the process start), so the many cases stay fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytask.tasks.publish.rules import CHECKS
from pytask.tasks.publish_vm_app import body
from tests.conftest import RunningSandbox
from tests.helpers.agent_env import REPO, agent_environ, endpoint_from_json, run_in_process

pytestmark = pytest.mark.e2e

TASK_JSON = REPO / "tasks" / "PublishVmApp" / "task.json"
VALID = {
    "resourceGroup": "rg-apps",
    "galleryName": "releases",
    "applicationName": "payments",
    "version": "1.2.3",
    "osType": "Linux",
    "package": "app.zip",
    "storageAccount": "pkgs001",
    "storageContainer": "packages",
    "installCommand": "./install.sh",
    "removeCommand": "./remove.sh",
}

# (case id, inputs changed from VALID, the input name the error must mention)
CASES: list[tuple[str, dict[str, str], str]] = [
    ("gallery-hyphen", {"galleryName": "my-gallery"}, "galleryName"),
    ("gallery-leading-underscore", {"galleryName": "_gal"}, "galleryName"),
    ("gallery-too-long", {"galleryName": "g" * 81}, "galleryName"),
    ("app-trailing-hyphen", {"applicationName": "app-"}, "applicationName"),
    ("app-too-long", {"applicationName": "a" * 81}, "applicationName"),
    ("app-space", {"applicationName": "my app"}, "applicationName"),
    ("version-two-parts", {"version": "1.0"}, "version"),
    ("version-four-parts", {"version": "1.0.0.0"}, "version"),
    ("version-over-int32", {"version": "2147483648.0.0"}, "version"),
    ("version-prefix", {"version": "v1.0.0"}, "version"),
    ("version-missing", {"version": ""}, "version"),
    ("resource-group-trailing-dot", {"resourceGroup": "rg."}, "resourceGroup"),
    ("account-upper-case", {"storageAccount": "Bad_Account"}, "storageAccount"),
    ("container-too-short", {"storageContainer": "ab"}, "storageContainer"),
    ("container-double-hyphen", {"storageContainer": "app--pkgs"}, "storageContainer"),
    ("install-too-long", {"installCommand": "x" * 4097}, "installCommand"),
    ("remove-missing", {"removeCommand": ""}, "removeCommand"),
    ("update-too-long", {"updateCommand": "y" * 4097}, "updateCommand"),
    ("region-zero-replicas", {"targetRegions": "westeurope:0"}, "targetRegions"),
    ("region-eleven-replicas", {"targetRegions": "westeurope:11"}, "targetRegions"),
    ("region-bad-storage", {"targetRegions": "westeurope:1:Cold_LRS"}, "targetRegions"),
    ("region-twice", {"targetRegions": "westeurope\nWest Europe"}, "targetRegions"),
    ("region-bad-name", {"targetRegions": "west$europe"}, "targetRegions"),
    ("replicas-zero", {"replicaCount": "0"}, "replicaCount"),
    ("replicas-text", {"replicaCount": "many"}, "replicaCount"),
    ("eol-past", {"endOfLifeDate": "2001-01-01"}, "endOfLifeDate"),
    ("eol-not-a-date", {"endOfLifeDate": "tomorrow"}, "endOfLifeDate"),
    ("app-eol-past", {"applicationEndOfLifeDate": "2000-05-05"}, "applicationEndOfLifeDate"),
    ("tags-list", {"tags": "[1, 2]"}, "tags"),
    ("tags-nested", {"tags": "team: {name: x}"}, "tags"),
    ("tags-forbidden-char", {"tags": "'a/b': x"}, "tags"),
    ("timeout-zero", {"timeoutMinutes": "0"}, "timeoutMinutes"),
    ("os-unknown", {"osType": "Solaris"}, "osType"),
    ("if-exists-unknown", {"ifVersionExists": "sometimes"}, "ifVersionExists"),
    ("create-app-not-bool", {"createApplication": "maybe"}, "createApplication"),
    ("wait-not-bool", {"waitForReplication": "yes"}, "waitForReplication"),
    ("privacy-uri", {"privacyStatementUri": "not a uri"}, "privacyStatementUri"),
    ("package-file-name-path", {"packageFileName": "dir/name"}, "packageFileName"),
    ("neither-package-nor-url", {"package": ""}, "packageUrl"),
    (
        "package-and-url",
        {"packageUrl": "https://acct.blob.core.windows.net/pkgs/app.zip"},
        "packageUrl",
    ),
    ("package-missing", {"package": "missing.zip"}, "package"),
    ("package-empty-folder", {"package": "empty"}, "package"),
    (
        "package-url-with-sas",
        {"package": "", "packageUrl": "https://a.blob.core.windows.net/c1c/x.zip?sig=abc"},
        "packageUrl",
    ),
    (
        "package-url-http",
        {"package": "", "packageUrl": "http://a.blob.core.windows.net/c1c/x.zip"},
        "packageUrl",
    ),
    ("storage-account-missing", {"storageAccount": ""}, "storageAccount"),
    ("config-missing", {"configFile": "missing.cfg"}, "configFile"),
    ("config-is-folder", {"configFile": "empty"}, "configFile"),
]


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    folder = work / "s"
    folder.mkdir(parents=True)
    (folder / "app.zip").write_bytes(b"PK package")
    (folder / "empty").mkdir()
    return work


@pytest.mark.parametrize(
    ("changes", "input_name"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_fails_clearly_before_any_request(
    sandbox_env: RunningSandbox, sources: Path, changes: dict[str, str], input_name: str
) -> None:
    endpoint = endpoint_from_json(sandbox_env["connection"])
    inputs = {**VALID, **changes, "azureSubscription": endpoint.id}
    env = agent_environ(TASK_JSON, sources, inputs=inputs, endpoints=(endpoint,))
    before = len(sandbox_env.requests_log())
    code, out = run_in_process("PublishVmApp", body, env, checks=CHECKS)
    assert code == 0
    assert out.result == "Failed"
    assert out.errors, out.text
    assert any(f"({input_name})" in error for error in out.errors), out.errors
    assert not any("unexpectedly" in error for error in out.errors), out.errors
    assert sandbox_env.requests_log()[before:] == []


def test_every_problem_is_reported_at_once(sandbox_env: RunningSandbox, sources: Path) -> None:
    endpoint = endpoint_from_json(sandbox_env["connection"])
    inputs = {
        **VALID,
        "galleryName": "bad-name",
        "version": "1.0",
        "targetRegions": "westeurope:99",
        "azureSubscription": endpoint.id,
    }
    env = agent_environ(TASK_JSON, sources, inputs=inputs, endpoints=(endpoint,))
    _, out = run_in_process("PublishVmApp", body, env, checks=CHECKS)
    assert out.result == "Failed"
    assert len(out.errors) == 3
    for name in ("galleryName", "version", "targetRegions"):
        assert any(f"({name})" in error for error in out.errors)


def test_enough_cases() -> None:
    assert len(CASES) >= 30
