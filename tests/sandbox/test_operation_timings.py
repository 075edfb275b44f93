"""operations.jsonl: every long-running operation a client starts is logged with its scheduled
start and scaled duration (what bench/bench_release.py counts as the time Azure itself takes).
Checked against what a real SDK poller sees: the operation is not over before its logged end."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e

RG_DELETE_AZURE_SECONDS = 20.0  # an empty group (sandbox resources model: RG_DELETE_BASE)


@pytest.fixture
def client(sandbox_env: RunningSandbox) -> Iterator[ResourceManagementClient]:
    with sandbox_env.resources(polling_interval=0.02) as arm:
        yield arm


def _logged(sandbox: RunningSandbox, group: str) -> list[dict[str, Any]]:
    path = Path(sandbox["operations_log"])
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    records = [json.loads(line) for line in lines if line.strip()]
    return [r for r in records if r["path"].lower().endswith(f"/resourcegroups/{group}")]


def _wait_gone(client: ResourceManagementClient, group: str) -> None:
    """Until the group is gone (the delete's effect runs when its operation ends). Read
    directly: the SDK poller would wait out the sandbox's one-second Retry-After."""
    deadline = time.monotonic() + 10
    while client.resource_groups.check_existence(group):
        assert time.monotonic() < deadline, f"{group} was not deleted"
        time.sleep(0.01)


def test_an_operation_is_logged_with_its_scaled_duration_and_lasts_that_long(
    client: ResourceManagementClient, sandbox: RunningSandbox
) -> None:
    group = f"rg-{uuid.uuid4().hex[:8]}"
    client.resource_groups.create_or_update(group, {"location": "eastus"})
    client.resource_groups.get(group)
    assert _logged(sandbox, group) == []  # ARM creates a group synchronously: no operation
    before = time.time()
    client.resource_groups.begin_delete(group, polling=False)
    _wait_gone(client, group)
    after = time.time()
    [record] = _logged(sandbox, group)
    scale = float(sandbox["time_scale"])
    assert record["operation"] == "ResourceGroups_Delete"
    assert record["method"] == "DELETE"
    assert record["outcome"] == "Succeeded"
    assert record["azure_seconds"] == RG_DELETE_AZURE_SECONDS
    assert record["duration"] == pytest.approx(RG_DELETE_AZURE_SECONDS * scale)
    assert record["end"] == pytest.approx(record["start"] + record["duration"])
    # Started by the request, and the group outlived the logged end (it went only after).
    assert before <= record["start"] <= record["end"] <= after


def test_a_failed_operation_is_logged_failed_when_it_starts(
    client: ResourceManagementClient, sandbox: RunningSandbox
) -> None:
    group = f"rg-{uuid.uuid4().hex[:8]}"
    client.resource_groups.create_or_update(group, {"location": "eastus"})
    sandbox.set_faults(
        f"""
rules:
  - name: fail-delete
    operation: ResourceGroups_Delete
    path: "/{group}$"
    inject: fail_operation
"""
    )
    try:
        client.resource_groups.begin_delete(group, polling=False)
    finally:
        sandbox.clear_faults()
    [record] = _logged(sandbox, group)
    assert record["outcome"] == "Failed"
    time.sleep(max(0.0, record["end"] - time.time()) + 0.05)
    assert client.resource_groups.check_existence(group)  # a failed delete keeps the group
    client.resource_groups.begin_delete(group, polling=False)
