"""A restart keeps the world: tenant, subscription, principals, resources, in-flight operations
and the CA clients trust. The seed only creates the world on the first start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e

SEED = "resourceGroups:\n  - {name: rg-kept, location: westus2, tags: {from: seed}}\n"


def _arm(sandbox: RunningSandbox, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        f"{sandbox.base_url}/subscriptions/{sandbox['subscription_id']}{path}",
        params={"api-version": "2025-04-01"},
        json=body,
        headers={"Authorization": f"Bearer {sandbox.arm_token()}"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )


def test_restart_keeps_the_world(sandbox_factory: Any) -> None:
    first = sandbox_factory(seed=SEED, time_scale=1.0)
    created = _arm(first, "PUT", "/resourcegroups/rg-made", {"location": "eastus"})
    assert created.status_code == 201
    # A long delete in flight (20 s at time scale 1) must survive the restart as well.
    assert _arm(first, "PUT", "/resourcegroups/rg-going", {"location": "eastus"}).ok
    deleting = _arm(first, "DELETE", "/resourcegroups/rg-going")
    assert deleting.status_code == 202
    ca_before = Path(first.ca_bundle).read_text()
    assert first.stop() == 0

    second = sandbox_factory(first.state_dir, seed=SEED, time_scale=1.0)
    assert second["tenant_id"] == first["tenant_id"]
    assert second["subscription_id"] == first["subscription_id"]
    assert second["principals"] == first["principals"]
    assert Path(second.ca_bundle).read_text() == ca_before
    kept = _arm(second, "GET", "/resourcegroups/rg-kept").json()
    assert kept["tags"] == {"from": "seed"}
    assert _arm(second, "GET", "/resourcegroups/rg-made").status_code == 200
    going = _arm(second, "GET", "/resourcegroups/rg-going").json()
    assert going["properties"]["provisioningState"] == "Deleting"
    location = deleting.headers["Location"].replace(first.base_url, second.base_url)
    poll = requests.get(
        location,
        headers={"Authorization": f"Bearer {second.arm_token()}"},
        verify=second.ca_bundle,
        timeout=10,
    )
    assert poll.status_code == 202
    # The seed was not applied again: the second start made no PUT of its own.
    puts = [r for r in second.requests_log() if r["method"] == "PUT"]
    assert len(puts) == 3  # the seed's and the client's two, all from the first run
