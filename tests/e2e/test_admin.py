"""`pytask setup environments` and `pytask approvals` end to end: the real azure-devops client
(location discovery, resource areas, identities, environments, check configurations,
approvals, build timeline) against the sandbox's Azure DevOps REST surface."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import requests

from tests.conftest import RunningSandbox

SEED = """\
devops:
  users:
    - {name: Alice Admin, email: alice@contoso.com, pat: alice-pat}
    - {name: Rita Release, email: rita@contoso.com, pat: rita-pat}
    - {name: Bob Builder, email: bob@contoso.com, pat: bob-pat}
  environments:
    - name: test
    - name: prod
      approvers: [rita@contoso.com, bob@contoso.com]
      minRequiredApprovers: 1
      requesterCannotBeApprover: true
  runs:
    - {runId: 41, runName: "20261126.1", pipeline: vm-app-release, stage: prod,
       environment: prod, requestedBy: bob@contoso.com, gateResults: {test: failed}}
    - {runId: 42, runName: "20261126.2", pipeline: vm-app-release, stage: prod,
       environment: prod, requestedBy: bob@contoso.com, gateResults: {test: succeeded}}
"""


@pytest.fixture(scope="module")
def devops(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import start_sandbox

    running = start_sandbox(tmp_path_factory.mktemp("devops") / "state", seed=SEED)
    try:
        yield running
    finally:
        running.stop()


def pytask(
    sandbox: RunningSandbox, *args: str, pat: str | None = "alice-pat"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AZURE_DEVOPS_EXT_PAT"}
    env.update(sandbox.env)
    env["HOME"] = str(sandbox.state_dir)  # the client's options cache lives under HOME
    if pat is not None:
        env["AZURE_DEVOPS_EXT_PAT"] = pat
    organization = sandbox.ready["devops"]["collection_uri"]
    project = sandbox.ready["devops"]["project"]
    command, *rest = args
    where = ["--organization", organization, "--project", project]
    return subprocess.run(
        [sys.executable, "-m", "pytask", command, *rest, *where],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def checks_on(sandbox: RunningSandbox, env_id: int) -> list[dict[str, Any]]:
    org = sandbox.ready["devops"]["collection_uri"]
    response = requests.get(
        f"{org}{sandbox.ready['devops']['project']}/_apis/pipelines/checks/configurations",
        params={"resourceType": "environment", "resourceId": str(env_id), "$expand": "settings"},
        auth=("", "alice-pat"),
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    response.raise_for_status()
    value: list[dict[str, Any]] = response.json()["value"]
    return value


def environments(sandbox: RunningSandbox) -> dict[str, int]:
    org = sandbox.ready["devops"]["collection_uri"]
    response = requests.get(
        f"{org}{sandbox.ready['devops']['project']}/_apis/distributedtask/environments",
        auth=("", "alice-pat"),
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    response.raise_for_status()
    return {e["name"]: e["id"] for e in response.json()["value"]}


def test_setup_creates_then_finds(devops: RunningSandbox) -> None:
    args = (
        "setup",
        "environments",
        "--environments",
        "dev,test,staging",
        "--approvers",
        "rita@contoso.com",
        "--business-hours",
        "Mon-Fri 09:00-17:00 UTC",
        "--exclusive-lock",
    )
    first = pytask(devops, *args)
    assert first.returncode == 0, first.stderr
    assert "environment dev: created" in first.stdout
    assert "environment test: found" in first.stdout  # seeded
    assert "environment staging: created" in first.stdout
    assert first.stdout.count(": created (check") == 6  # 3 checks on test and on staging

    again = pytask(devops, *args)
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout
    assert again.stdout.count(": found (check") == 6

    ids = environments(devops)
    assert checks_on(devops, ids["dev"]) == []  # the first environment is not protected
    staging = {c["type"]["name"]: c for c in checks_on(devops, ids["staging"])}
    assert set(staging) == {"Approval", "Task Check", "ExclusiveLock"}
    approval = staging["Approval"]["settings"]
    assert [a["displayName"] for a in approval["approvers"]] == ["Rita Release"]
    assert approval["requesterCannotBeApprover"] is True
    assert approval["minRequiredApprovers"] == 1
    hours = staging["Task Check"]["settings"]["inputs"]
    assert hours["businessDays"] == "Monday,Tuesday,Wednesday,Thursday,Friday"
    assert (hours["startTime"], hours["endTime"], hours["timeZone"]) == ("09:00", "17:00", "UTC")


def test_setup_refuses_an_unknown_approver_and_a_bad_pat(devops: RunningSandbox) -> None:
    unknown = pytask(
        devops, "setup", "environments", "--environments", "x,y", "--approvers", "nobody@x.com"
    )
    assert unknown.returncode == 1
    assert "no Azure DevOps identity matches approver 'nobody@x.com'" in unknown.stderr

    bad = pytask(devops, "setup", "environments", "--environments", "dev", pat="wrong")
    assert bad.returncode == 1
    assert "Azure DevOps answered" in bad.stderr
    assert "wrong" not in bad.stderr + bad.stdout


def _pending(sandbox: RunningSandbox) -> dict[str, str]:
    listed = pytask(sandbox, "approvals", "list", pat="rita-pat")
    assert listed.returncode == 0, listed.stderr
    return {line.split()[3]: line for line in listed.stdout.splitlines() if "run" in line}


def test_approvals_list_shows_the_previous_gate(devops: RunningSandbox) -> None:
    lines = _pending(devops)
    by_run = {line.split()[3]: line for line in lines.values()}
    assert "gate in test: Failed" in by_run["20261126.1"]
    assert "gate in test: Succeeded" in by_run["20261126.2"]
    assert all("stage prod" in line for line in lines.values())


def test_approve_reject_and_requester_cannot_approve(devops: RunningSandbox) -> None:
    lines = _pending(devops)
    failed_run = lines["20261126.1"].split()[0]
    good_run = lines["20261126.2"].split()[0]

    by_requester = pytask(devops, "approvals", "approve", good_run, pat="bob-pat")
    assert by_requester.returncode == 1
    assert "cannot approve" in by_requester.stderr

    by_outsider = pytask(devops, "approvals", "approve", good_run, pat="alice-pat")
    assert by_outsider.returncode == 1
    assert "not an approver" in by_outsider.stderr

    approved = pytask(
        devops, "approvals", "approve", good_run, "--comment", "gate green", pat="rita-pat"
    )
    assert approved.returncode == 0, approved.stderr
    assert "approval is now approved" in approved.stdout

    rejected = pytask(devops, "approvals", "reject", failed_run, pat="rita-pat")
    assert rejected.returncode == 0, rejected.stderr
    assert "approval is now rejected" in rejected.stdout

    assert (
        pytask(devops, "approvals", "list", pat="rita-pat").stdout.strip() == "no pending approvals"
    )
    twice = pytask(devops, "approvals", "approve", good_run, pat="rita-pat")
    assert twice.returncode == 1 and "already approved" in twice.stderr


def test_unauthenticated_discovery_is_refused(devops: RunningSandbox) -> None:
    org = devops.ready["devops"]["collection_uri"]
    answer = requests.options(f"{org}_apis", verify=devops.ca_bundle, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["typeKey"] == "UnauthorizedRequestException"
