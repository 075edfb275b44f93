"""Gallery provider state and rules, without HTTP: names, replication over time, defaults,
immutability, the per-region version limit and the lookup the VM provider uses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.compute.gallery import models, names, replication, validation

SUB = "00000000-0000-0000-0000-000000000001"
GALLERY_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal"
APP_ID = f"{GALLERY_ID}/applications/app"


def version_body(**profile: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source": {"mediaLink": "https://acct.blob.example/c/app.zip?sig=secret"},
        "manageActions": {"install": "./install.sh", "remove": "./remove.sh"},
    }
    base.update(profile)
    return {"location": "westeurope", "properties": {"publishingProfile": base}}


def world_with_app(os_type: str = "Linux") -> World:
    world = World(tenant_id="t", subscription_id=SUB)
    world.put(models.gallery_doc(GALLERY_ID, "gal", SUB, {"location": "westeurope"}, "Succeeded"))
    body = {"location": "westeurope", "properties": {"supportedOSType": os_type}}
    world.put(models.application_doc(APP_ID, "app", body, None))
    return world


def add_version(world: World, name: str, now: float = 1000.0, **profile: Any) -> dict[str, Any]:
    doc = models.version_doc(
        f"{APP_ID}/versions/{name}", name, version_body(**profile), now, "Succeeded"
    )
    targets = doc["properties"]["publishingProfile"]["targetRegions"]
    plan = replication.new_plan(targets, now, [10.0] * len(targets))
    models.set_plan(doc, plan)
    return world.put(doc)


# --- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gal", "my.gallery_1", "a", "A1" * 40])
def test_gallery_names_accepted(name: str) -> None:
    names.check_gallery_name(name)


@pytest.mark.parametrize("name", ["my-gallery", "_gal", "gal.", "", "a" * 81, "gal ery"])
def test_gallery_names_rejected(name: str) -> None:
    with pytest.raises(ArmError) as caught:
        names.check_gallery_name(name)
    assert (caught.value.status, caught.value.code, caught.value.target) == (
        400,
        "InvalidParameter",
        "galleryName",
    )


@pytest.mark.parametrize("name", ["app", "my-app_1.x", "a_"])
def test_application_names_accepted(name: str) -> None:
    names.check_application_name(name)


@pytest.mark.parametrize("name", ["-app", "app-", "app.", "ap p", "a" * 81, "_app"])
def test_application_names_rejected(name: str) -> None:
    with pytest.raises(ArmError):
        names.check_application_name(name)


@pytest.mark.parametrize(
    ("name", "parsed"),
    [("1.0.0", (1, 0, 0)), ("2147483647.0.2147483647", (2147483647, 0, 2147483647))],
)
def test_version_names_accepted(name: str, parsed: tuple[int, int, int]) -> None:
    assert names.check_version_name(name) == parsed


@pytest.mark.parametrize("name", ["1.0", "1.0.0.0", "v1.0.0", "1.0.-1", "2147483648.0.0", "1.a.0"])
def test_version_names_rejected(name: str) -> None:
    with pytest.raises(ArmError) as caught:
        names.check_version_name(name)
    assert caught.value.target == "galleryApplicationVersionName"
    assert "2,147,483,647" in caught.value.message


# --- replication ---------------------------------------------------------------------------
def test_replication_progresses_per_region_and_completes() -> None:
    targets = [{"name": "westeurope"}, {"name": "northeurope", "regionalReplicaCount": 3}]
    real = replication.durations(targets)
    assert real[1] > real[0]  # later regions and more replicas take longer
    plan = replication.new_plan(targets, 100.0, [10.0, 20.0])
    start = replication.status(plan, 100.0)
    assert start["aggregatedState"] == "InProgress"
    assert [s["progress"] for s in start["summary"]] == [0, 0]
    middle = replication.status(plan, 110.0)
    assert [s["state"] for s in middle["summary"]] == ["Completed", "Replicating"]
    assert middle["summary"][1]["progress"] == 50
    assert middle["summary"][0]["region"] == "West Europe"
    done = replication.status(plan, 120.0)
    assert done["aggregatedState"] == "Completed"
    assert plan.end == 120.0


def test_replication_failure_of_the_slowest_region() -> None:
    plan = replication.new_plan([{"name": "westeurope"}, {"name": "eastus"}], 0.0, [10.0, 20.0])
    replication.fail(plan, 20.0, "disk quota", only_last=True)
    before = replication.status(plan, 19.0)
    assert before["aggregatedState"] == "InProgress"
    after = replication.status(plan, 20.0)
    assert after["aggregatedState"] == "Failed"
    failed = after["summary"][1]
    assert (failed["state"], failed["details"]) == ("Failed", "disk quota")
    assert failed["progress"] < 100
    assert after["summary"][0]["state"] == "Completed"


def test_plan_round_trips_through_json_and_keeps_replicated_regions() -> None:
    plan = replication.new_plan([{"name": "westeurope"}], 0.0, [10.0])
    again = replication.Plan.from_json(plan.to_json())
    grown = replication.new_plan(
        [{"name": "West Europe"}, {"name": "eastus"}], 50.0, [10.0, 10.0], again
    )
    assert grown.regions[0].start == 0.0  # kept, not replicated again
    assert grown.regions[1].start == 50.0


# --- documents and rules -------------------------------------------------------------------
def test_version_defaults_follow_galleryrp() -> None:
    doc = models.version_doc(f"{APP_ID}/versions/1.0.0", "1.0.0", version_body(), 0.0, "Creating")
    profile = doc["properties"]["publishingProfile"]
    assert profile["targetRegions"] == [
        {
            "name": "West Europe",
            "regionalReplicaCount": 1,
            "storageAccountType": "Standard_LRS",
            "excludeFromLatest": False,
        }
    ]
    assert (profile["replicaCount"], profile["excludeFromLatest"]) == (1, False)
    assert profile["enableHealthCheck"] is False
    assert profile["publishedDate"].endswith("+00:00")
    assert doc["properties"]["safetyProfile"] == {"allowDeletionOfReplicatedLocations": False}
    assert doc["properties"]["provisioningState"] == "Creating"


def test_application_os_type_is_immutable() -> None:
    world = world_with_app("Linux")
    existing = world.get(APP_ID)
    body = {"location": "westeurope", "properties": {"supportedOSType": "Windows"}}
    with pytest.raises(ArmError) as caught:
        models.application_doc(APP_ID, "app", body, existing)
    assert (caught.value.status, caught.value.code) == (409, "PropertyChangeNotAllowed")
    with pytest.raises(ArmError):
        models.patch_application(existing or {}, body)


def test_install_command_cannot_change_on_an_existing_version() -> None:
    world = world_with_app()
    existing = add_version(world, "1.0.0")
    changed = copy.deepcopy(existing)
    changed["properties"]["publishingProfile"]["manageActions"]["install"] = "./other.sh"
    with pytest.raises(ArmError) as caught:
        models.check_version_update(existing, changed)
    assert caught.value.code == "PropertyChangeNotAllowed"
    assert "manageActions.install" in caught.value.message


def test_removing_a_region_needs_the_safety_profile() -> None:
    world = world_with_app()
    existing = add_version(
        world, "1.0.0", targetRegions=[{"name": "westeurope"}, {"name": "eastus"}]
    )
    fewer = copy.deepcopy(existing)
    fewer["properties"]["publishingProfile"]["targetRegions"].pop()
    with pytest.raises(ArmError):
        models.check_version_update(existing, fewer)
    fewer["properties"]["safetyProfile"]["allowDeletionOfReplicatedLocations"] = True
    models.check_version_update(existing, fewer)


def test_three_hundred_versions_per_region_limit() -> None:
    world = world_with_app()
    for patch in range(models.MAX_VERSIONS_PER_REGION):
        add_version(world, f"1.0.{patch}")
    new = models.version_doc(f"{APP_ID}/versions/2.0.0", "2.0.0", version_body(), 0.0, "Creating")
    with pytest.raises(ArmError) as caught:
        models.check_version_limit(world, APP_ID, new)
    assert (caught.value.status, caught.value.code) == (409, "OperationNotAllowed")
    # Re-putting an existing version is not a new one.
    models.check_version_limit(world, APP_ID, world.get(f"{APP_ID}/versions/1.0.0") or {})


def test_version_body_validation() -> None:
    validation.check_version(version_body(), "westeurope")
    bad = [
        version_body(source={}),
        version_body(manageActions={"install": "x"}),
        version_body(manageActions={"install": "x" * 4097, "remove": "y"}),
        version_body(targetRegions=[{"name": "narnia"}]),
        version_body(targetRegions=[{"name": "eastus"}]),  # must include the source region
        version_body(replicaCount=0),
        version_body(endOfLifeDate="not a date"),
        version_body(settings={"scriptBehaviorAfterReboot": "Sometimes"}),
    ]
    for body in bad:
        with pytest.raises(ArmError) as caught:
            validation.check_version(body, "westeurope")
        assert caught.value.status == 400
    with pytest.raises(ArmError) as caught:
        validation.check_version({"properties": {}}, "westeurope")
    assert caught.value.code == "LocationRequired"


# --- lookup for the VM provider ------------------------------------------------------------
def test_find_version_and_latest() -> None:
    world = world_with_app("Windows")
    add_version(world, "1.0.0")
    add_version(world, "1.10.0", settings={"packageFileName": "pkg.zip"})
    add_version(world, "9.0.0", excludeFromLatest=True)
    found = models.find_version(world, f"{APP_ID}/versions/1.10.0", now=2000.0)
    assert found is not None
    assert (found.os_type, found.package_file_name, found.ready) == ("Windows", "pkg.zip", True)
    assert found.regions == ("West Europe",)
    assert found.media_link.startswith("https://acct.blob.example/c/app.zip")
    latest = models.find_version(world, f"{APP_ID}/versions/latest", now=2000.0)
    assert latest is not None and latest.version == "1.10.0"
    early = models.find_version(world, f"{APP_ID}/versions/1.0.0", now=1005.0)
    assert early is not None and not early.ready and early.regions == ()
    assert models.find_version(world, f"{APP_ID}/versions/3.0.0", now=0.0) is None
