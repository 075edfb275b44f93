"""What the Azure CLI sends that the SDK-based tests never did, pinned without the CLI (so
`make test` keeps them): each was a sandbox infidelity found by tools/fidelity.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import RunningSandbox, start_sandbox

pytestmark = pytest.mark.e2e

SEED = {
    "resourceGroups": [{"name": "rg-cli", "location": "eastus"}],
    "virtualMachines": [{"name": "vm-cli", "resourceGroup": "rg-cli"}],
    "scaleSets": [{"name": "ss-cli", "resourceGroup": "rg-cli", "instances": 2}],
}
COMPUTE = "2024-11-01"  # what `az vmss` sends


class Arm:
    """Plain HTTPS to the sandbox with a service principal's ARM token, byte-exact URLs."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.token = sandbox.credential().get_token(sandbox.arm_scope).token
        self.base = sandbox.base_url
        self.ca = sandbox.ca_bundle
        self.group = f"/subscriptions/{sandbox['subscription_id']}/resourceGroups/rg-cli"

    def call(
        self, method: str, url: str, body: Any = None, raw: bytes | None = None
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return requests.request(
            method,
            self.base + url,
            json=body,
            data=raw,
            headers=headers,
            verify=self.ca,
            timeout=30,
        )


@pytest.fixture(scope="module")
def arm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arm]:
    state = tmp_path_factory.mktemp("cli-fixes") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.002)
    try:
        yield Arm(running)
    finally:
        running.stop()


def test_empty_path_segments_are_ignored_as_arm_does(arm: Arm) -> None:
    """`az cloud register --endpoint-resource-manager https://host/` asks for
    `https://host//metadata/endpoints`."""
    single = arm.call("GET", "/metadata/endpoints?api-version=2022-09-01")
    double = arm.call("GET", "//metadata/endpoints?api-version=2022-09-01")
    assert double.status_code == 200
    assert double.json() == single.json()
    assert arm.call("GET", "//" + arm.group.lstrip("/") + "?api-version=2024-11-01").ok


def test_storage_accepts_the_api_version_the_cli_sends(arm: Arm) -> None:
    listed = arm.call(
        "GET", f"{arm.group}/providers/Microsoft.Storage/storageAccounts?api-version=2025-08-01"
    )
    assert listed.status_code == 200, listed.text


def _settle(arm: Arm, response: requests.Response) -> dict[str, Any]:
    url = response.headers["Azure-AsyncOperation"].replace(arm.base, "")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status: dict[str, Any] = arm.call("GET", url).json()
        if status["status"] != "InProgress":
            return status
        time.sleep(0.05)
    raise AssertionError("operation still in progress")


def test_manual_upgrade_of_all_instances_with_a_star(arm: Arm) -> None:
    scale_set = f"{arm.group}/providers/Microsoft.Compute/virtualMachineScaleSets/ss-cli"
    upgrade = f"{scale_set}/manualupgrade?api-version={COMPUTE}"
    started = arm.call("POST", upgrade, {"instanceIds": ["*"]})
    assert started.status_code == 202, started.text
    assert _settle(arm, started)["status"] == "Succeeded"
    refused = arm.call("POST", upgrade, {"instanceIds": ["7"]})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidParameter"


def test_metrics_timespan_percent_encoded_twice(arm: Arm) -> None:
    """`az monitor metrics list` quote_plus-es `start/end` before the SDK encodes it again."""
    vm = f"{arm.group}/providers/Microsoft.Compute/virtualMachines/vm-cli"
    twice = "2026-01-01T10%253A00%253A00%252F2026-01-01T11%253A00%253A00"
    url = (
        f"{vm}/providers/Microsoft.Insights/metrics?metricnames=Percentage%20CPU"
        f"&interval=PT1M&aggregation=Average&timespan={twice}&api-version=2018-01-01"
    )
    answer = arm.call("GET", url)
    assert answer.status_code == 200, answer.text
    assert answer.json()["timespan"] == "2026-01-01T10:00:00Z/2026-01-01T11:00:00Z"
    once = url.replace(twice, "2026-01-01T10%3A00%3A00%2B00%3A00%2F2026-01-01T11%3A00%3A00Z")
    assert arm.call("GET", once).json()["timespan"] == answer.json()["timespan"]


def test_resource_list_filtered_by_group_and_location(arm: Arm) -> None:
    """`az resource list -g G` filters the subscription's resources by `resourceGroup eq`."""
    subscription = arm.group.rsplit("/resourceGroups/", 1)[0]
    url = f"{subscription}/resources?api-version=2024-11-01&$filter="
    by_group = arm.call("GET", url + "resourceGroup eq 'RG-CLI'")
    assert by_group.status_code == 200, by_group.text
    names = {r["name"] for r in by_group.json()["value"]}
    assert {"vm-cli", "ss-cli"} <= names
    assert all("/resourceGroups/rg-cli/" in r["id"] for r in by_group.json()["value"])
    elsewhere = arm.call("GET", url + "resourceGroup eq 'rg-other'").json()["value"]
    assert elsewhere == []
    by_location = arm.call("GET", url + "location eq 'westus2'").json()["value"]
    assert by_location == []


def test_network_interfaces_at_the_cli_network_api_version(arm: Arm) -> None:
    """`az vm show -d` reads the VM's NICs at the CLI's network profile version."""
    nic = f"{arm.group}/providers/Microsoft.Network/networkInterfaces/vm-cli-nic"
    answer = arm.call("GET", f"{nic}?api-version=2022-01-01")
    assert answer.status_code == 200, answer.text
    assert answer.json()["properties"]["ipConfigurations"]


TEMPLATE = """{
  // what `az deployment group create --template-file` reads, comments and all
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"name": {"type": "string"}},
  "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
                 "name": "[parameters('name')]", "location": "[resourceGroup().location]",
                 "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}]
}"""


def _cli_body(name: str) -> bytes:
    """The body exactly as the CLI splices it: `template:` unquoted, the file's text as is."""
    head = json.dumps(
        {"properties": {"parameters": {"name": {"value": name}}, "mode": "Incremental"}}
    )
    return (head[:-2] + ", template:" + TEMPLATE + "}}").encode()


def test_deployment_validate_then_create_with_the_cli_body(arm: Arm) -> None:
    deployments = f"{arm.group}/providers/Microsoft.Resources/deployments"
    validated = arm.call(
        "POST", f"{deployments}/d-cli/validate?api-version=2025-04-01", raw=_cli_body("stvalid01")
    )
    assert validated.status_code == 200, validated.text
    resources = validated.json()["properties"]["validatedResources"]
    assert resources[0]["id"].endswith("/storageAccounts/stvalid01")
    nothing = arm.call("GET", f"{deployments}/d-cli?api-version=2025-04-01")
    assert nothing.status_code == 404  # validation deploys nothing
    created = arm.call(
        "PUT", f"{deployments}/d-cli?api-version=2025-04-01", raw=_cli_body("stvalid01")
    )
    assert created.status_code == 201, created.text
    spec_path = f"{arm.group}/deployments/d-cli/operations?api-version=2025-04-01"
    listed = arm.call("GET", spec_path)
    assert listed.status_code == 200, listed.text
    assert listed.json()["value"]


def test_malformed_bodies_are_still_refused(arm: Arm) -> None:
    url = f"{arm.group}/providers/Microsoft.Resources/deployments/d-bad?api-version=2025-04-01"
    refused = arm.call("PUT", url, raw=b'{"properties": {template: {"a": }}}')
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidRequestContent"
    without_name = _cli_body("x").replace(b'"parameters": {"name": {"value": "x"}}, ', b"")
    invalid = arm.call("POST", url.replace("d-bad?", "d-bad/validate?"), raw=without_name)
    assert invalid.status_code == 400, invalid.text
    assert invalid.json()["error"]["code"] == "InvalidTemplate"
