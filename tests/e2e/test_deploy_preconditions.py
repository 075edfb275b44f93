"""DeployVmApp preconditions and per-application settings, end to end against the sandbox:
a version must be replicated to each target's region (checked before any write), and
`configurationReference` lands on this application's entry only (an https URL, checked first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_deploy_world import (
    RG,
    Arm,
    Sandbox,
    base_seed,
    gallery_apps,
    publish_version,
    run_deploy,
    start_sandbox,
)
from tests.helpers.vso import Output

pytestmark = pytest.mark.e2e

WEST_RG = "rg-west"  # the sandbox gives each group one virtual network, in the group's region
SEED = base_seed(
    {
        "virtualMachines": [
            {"name": "vm-east", "resourceGroup": RG, "location": "eastus"},
            {"name": "vm-west", "resourceGroup": WEST_RG, "location": "westus2"},
            {"name": "vm-cfg", "resourceGroup": RG, "location": "eastus"},
        ],
    }
)
SEED["resourceGroups"].append({"name": WEST_RG, "location": "westus2"})
WRITES = ("PUT", "PATCH", "POST", "DELETE")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Arm]]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("deploy-pre"), SEED, time_scale=0.002)
    try:
        arm = Arm(sandbox)
        publish_version(sandbox, arm, "webapp", "1.0.0")  # eastus only (the helper's default)
        both = [{"name": "eastus"}, {"name": "westus2"}]
        publish_version(sandbox, arm, "webapp", "1.1.0", targetRegions=both)
        publish_version(sandbox, arm, "agent", "1.0.0")
        yield sandbox, arm
    finally:
        sandbox.stop()


def west_vm(sandbox: Sandbox) -> str:
    return sandbox.vm_id("vm-west").replace(f"/resourceGroups/{RG}/", f"/resourceGroups/{WEST_RG}/")


def result(out: Output) -> str:
    done = [c for c in out.commands if c.name == "task.complete"]
    assert done, out.text[-3000:]
    return done[-1].prop("result") or ""


def errors(out: Output) -> list[str]:
    return [c.message for c in out.commands if c.name == "task.logissue"]


def writes(sandbox: Sandbox, since: int) -> list[dict[str, Any]]:
    """Every ARM write anyone but the seeder sent since request `since` (galleries included;
    token requests are POSTs too, but to the identity endpoint, outside /subscriptions)."""
    return [
        r
        for r in sandbox.requests()[since:]
        if r["method"] in WRITES
        and r["path"].lower().startswith("/subscriptions/")
        and (r.get("principal") or {}).get("appid") != "pytask-sandbox-seed"
    ]


def entry_for(arm: Arm, target: str, app: str) -> dict[str, Any]:
    found = [
        e for e in gallery_apps(arm, target) if f"/applications/{app}/" in e["packageReferenceId"]
    ]
    assert len(found) == 1, gallery_apps(arm, target)
    return found[0]


def test_target_outside_the_version_regions_fails_before_any_write(
    world: tuple[Sandbox, Arm],
) -> None:
    sandbox, arm = world
    east, west = sandbox.vm_id("vm-east"), west_vm(sandbox)
    version = sandbox.version_id("webapp", "1.0.0")
    replication = arm.get(version + "?$expand=ReplicationStatus", "2025-03-03")
    summary = replication["properties"]["replicationStatus"]["summary"]
    assert [s["region"].replace(" ", "").lower() for s in summary] == ["eastus"], summary

    before = len(sandbox.requests())
    # vm-east could take it: the whole run must still refuse, not deploy half the targets.
    out = run_deploy(sandbox, {"targets": f"{east}\n{west}", "applicationVersionId": version})
    assert result(out) == "Failed", out.text[-3000:]
    assert writes(sandbox, before) == []
    found = errors(out)
    assert len(found) == 1, found
    message = found[0]
    assert "Nothing was changed." in message
    assert f"{west} is in westus2" in message
    assert "version 1.0.0 is not replicated (replicated to: eastus)" in message
    assert east not in message  # only the target that cannot take it is named
    assert gallery_apps(arm, east) == [] and gallery_apps(arm, west) == []


def test_target_in_a_replicated_region_deploys(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    west = west_vm(sandbox)
    version = sandbox.version_id("webapp", "1.1.0")
    out = run_deploy(sandbox, {"targets": west, "applicationVersionId": version})
    assert result(out) == "Succeeded", out.text[-3000:]
    assert entry_for(arm, west, "webapp")["packageReferenceId"] == version


def test_configuration_reference_lands_on_this_application_only(
    world: tuple[Sandbox, Arm],
) -> None:
    sandbox, arm = world
    vm = sandbox.vm_id("vm-cfg")
    agent_config = "https://vmapppackages.blob.core.windows.net/config/agent.json?sv=x&sig=y"
    web_config = "https://vmapppackages.blob.core.windows.net/config/webapp.json"
    agent = run_deploy(
        sandbox,
        {
            "targets": vm,
            "applicationVersionId": sandbox.version_id("agent", "1.0.0"),
            "configurationReference": agent_config,
        },
    )
    assert result(agent) == "Succeeded", agent.text[-3000:]
    web = {"targets": vm, "applicationVersionId": sandbox.version_id("webapp", "1.0.0")}
    out = run_deploy(sandbox, {**web, "configurationReference": web_config})
    assert result(out) == "Succeeded", out.text[-3000:]
    assert entry_for(arm, vm, "webapp")["configurationReference"] == web_config
    assert entry_for(arm, vm, "agent")["configurationReference"] == agent_config

    # Only the configuration changes: that alone is a change to apply, not a no-op.
    changed = web_config.replace("webapp.json", "webapp-v2.json")
    again = run_deploy(sandbox, {**web, "configurationReference": changed})
    assert result(again) == "Succeeded", again.text[-3000:]
    assert entry_for(arm, vm, "webapp")["configurationReference"] == changed
    assert entry_for(arm, vm, "agent")["configurationReference"] == agent_config


@pytest.mark.parametrize(
    "value",
    ["http://vmapppackages.blob.core.windows.net/config/webapp.json", "config/webapp.json"],
)
def test_configuration_reference_must_be_an_https_url(
    world: tuple[Sandbox, Arm], value: str
) -> None:
    sandbox, arm = world
    vm = sandbox.vm_id("vm-east")
    before = len(sandbox.requests())
    out = run_deploy(
        sandbox,
        {
            "targets": vm,
            "applicationVersionId": sandbox.version_id("webapp", "1.0.0"),
            "configurationReference": value,
        },
    )
    assert result(out) == "Failed", out.text[-3000:]
    assert writes(sandbox, before) == []
    found = errors(out)
    assert len(found) == 1, found
    assert "(configurationReference)" in found[0] and value in found[0], found
    assert "https URL" in found[0], found
    assert gallery_apps(arm, vm) == []
