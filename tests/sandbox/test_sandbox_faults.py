"""Injected faults (throttling, 5xx, connection resets, delays) survived by the SDK's own retry
policy, each counted in STATE/faults.jsonl; rules replaced at run time or re-read from file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(sandbox_env: RunningSandbox) -> Iterator[ResourceManagementClient]:
    sandbox_env.clear_faults()
    with sandbox_env.resources() as arm:
        arm.resource_groups.get("rg-seeded")  # token cached before any rule applies
        yield arm
    sandbox_env.clear_faults()


def _fired(sandbox: RunningSandbox, rule: str) -> list[dict[str, Any]]:
    return [f for f in sandbox.faults_log() if f["rule"] == rule]


def test_throttling_is_retried_after_retry_after(
    client: ResourceManagementClient, sandbox: RunningSandbox
) -> None:
    sandbox.set_faults(
        """
rules:
  - name: throttle-get
    operation: ResourceGroups_Get
    path: /rg-seeded$
    count: 2
    inject: status
    status: 429
    retry_after: 1
"""
    )
    started = time.monotonic()
    assert client.resource_groups.get("rg-seeded").name == "rg-seeded"
    elapsed = time.monotonic() - started
    assert len(_fired(sandbox, "throttle-get")) == 2
    assert elapsed >= 2.0, "the SDK waited Retry-After (1 s) before each retry"
    statuses = [
        r["status"]
        for r in sandbox.requests_log()
        if r["operation"] == "ResourceGroups_Get" and r["fault"] == "throttle-get"
    ]
    assert statuses == [429, 429]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_on_the_nth_request_are_retried(
    client: ResourceManagementClient, sandbox: RunningSandbox, status: int
) -> None:
    rule = f"nth-{status}"
    sandbox.set_faults(
        f"""
rules:
  - name: {rule}
    method: GET
    path: /resourcegroups/rg-seeded$
    nth: 2
    inject: status
    status: {status}
    retry_after: 0
"""
    )
    for _ in range(3):
        client.resource_groups.get("rg-seeded")
    assert len(_fired(sandbox, rule)) == 1


def test_connection_reset_is_retried(
    client: ResourceManagementClient, sandbox: RunningSandbox
) -> None:
    sandbox.set_faults(
        """
rules:
  - name: reset-once
    operation: ResourceGroups_Get
    count: 1
    inject: reset
"""
    )
    assert client.resource_groups.get("rg-seeded").name == "rg-seeded"
    assert len(_fired(sandbox, "reset-once")) == 1


def test_delay_slows_the_request(client: ResourceManagementClient, sandbox: RunningSandbox) -> None:
    sandbox.set_faults(
        """
rules:
  - name: slow
    operation: ResourceGroups_Get
    count: 1
    inject: delay
    seconds: 0.6
"""
    )
    started = time.monotonic()
    client.resource_groups.get("rg-seeded")
    assert time.monotonic() - started >= 0.6
    assert len(_fired(sandbox, "slow")) == 1


def test_persistent_failure_exhausts_the_retries(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    sandbox.clear_faults()
    with sandbox.resources(retry_total=2) as arm:
        arm.resource_groups.get("rg-seeded")
        sandbox.set_faults(
            """
rules:
  - name: always-503
    operation: ResourceGroups_Get
    inject: status
    status: 503
    retry_after: 0
"""
        )
        try:
            with pytest.raises(HttpResponseError) as failed:
                arm.resource_groups.get("rg-seeded")
        finally:
            sandbox.clear_faults()
    assert failed.value.status_code == 503
    assert len(_fired(sandbox, "always-503")) == 3  # the first try and two retries


def test_faults_file_is_reread_when_it_changes(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = tmp_path / "faults.yml"
    faults.write_text("rules: []\n")
    private = sandbox_factory(seed="resourceGroups:\n  - {name: rg-a}\n", faults=faults)
    for name, value in private.env.items():
        monkeypatch.setenv(name, value)
    with private.resources(retry_total=0) as arm:
        arm.resource_groups.get("rg-a")
        faults.write_text(
            "rules:\n  - {name: from-file, operation: ResourceGroups_Get, inject: status,"
            " status: 500}\n"
        )
        with pytest.raises(HttpResponseError) as failed:
            arm.resource_groups.get("rg-a")
    assert failed.value.status_code == 500
    assert [f["rule"] for f in private.faults_log()] == ["from-file"]
