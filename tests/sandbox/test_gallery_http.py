"""The Compute Gallery provider over HTTPS: every compute-gallery x-ms-example replayed (status
codes, headers, body shapes), then Azure's rules as clients meet them: a mediaLink the sandbox
really reads, immutable OS type, name rules, parents, nested deletes, preconditions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pytask.cloud import CloudSession
from pytask.cloud.arm import ArmClient
from pytask.tasks.publish.blobs import BlobStore
from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.replay import cloud_session, load_example, seeded_sandbox

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parent / "examples" / "compute-gallery"
API = "2025-03-03"
RG, GALLERY, APP, ACCOUNT = "rg-gal", "myGalleryName", "myGalleryApplicationName", "galpkgs"
SEED = {
    # The group and the account elsewhere; the gallery in West US, as the examples have it.
    "resourceGroups": [{"name": RG, "location": "westus2"}],
    "storageAccounts": [
        {"name": ACCOUNT, "resourceGroup": RG, "location": "westus2", "containers": ["pkgs"]}
    ],
}


def example(name: str) -> dict[str, Any]:
    return load_example(EXAMPLES, name)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with seeded_sandbox(tmp_path_factory, "gallery-sandbox", SEED) as running:
        yield running


@pytest.fixture(scope="module")
def session(cloud: RunningSandbox) -> Iterator[CloudSession]:
    with cloud_session(cloud) as opened:
        yield opened


@pytest.fixture(scope="module")
def arm(session: CloudSession) -> ArmClient:
    return session.arm()


@pytest.fixture(scope="module")
def media_link(session: CloudSession) -> str:
    """A readable package blob with a read SAS, as the task would hand the gallery."""
    store = BlobStore.for_account(session, RG, ACCOUNT)
    ref = store.ref("pkgs", "app/1.0.0/package.zip")
    store.service.get_blob_client(ref.container, ref.name).upload_blob(b"PK" * 100)
    sas = store.signer(timedelta(hours=1), lambda _: None)(ref)
    return f"{ref.url}?{sas}"


def gallery_path(session: CloudSession, *parts: str) -> str:
    base = (
        f"/subscriptions/{session.subscription_id}/resourceGroups/{RG}"
        f"/providers/Microsoft.Compute/galleries/{GALLERY}"
    )
    return "/".join([base, *parts])


def same_shape(ours: Any, theirs: Any, where: str = "body") -> None:
    """Every key of the example is in ours with a value of the same JSON type."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        for key, value in theirs.items():
            assert key in ours, f"{where}.{key} missing (have {sorted(ours)})"
            same_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{where}: expected a list"
        if theirs and ours:
            same_shape(ours[0], theirs[0], f"{where}[0]")
    elif isinstance(theirs, bool) or theirs is None:
        assert ours is None or isinstance(ours, bool) or theirs is None, where
    elif isinstance(theirs, (int, float)):
        assert isinstance(ours, (int, float)) and not isinstance(ours, bool), where
    else:
        assert isinstance(ours, str), f"{where}: expected a string, got {ours!r}"


def send(arm: ArmClient, method: str, path: str, body: Any = None, **headers: str) -> Any:
    response = arm.send(method, path, API, body=body, headers=headers)
    text = response.text()
    return response.status_code, response.headers, json.loads(text) if text.strip() else None


def settle(arm: ArmClient, path: str, expand: str = "") -> dict[str, Any]:
    """GET until the resource leaves Creating/Updating/Deleting."""
    query = f"?$expand={expand}" if expand else ""
    for _ in range(200):
        status, _, body = send(arm, "GET", path + query)
        if status == 404:
            return {}
        state = body["properties"].get("provisioningState")
        if state not in ("Creating", "Updating", "Deleting"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"{path} never settled")


def test_replay_compute_gallery_examples(
    session: CloudSession, arm: ArmClient, media_link: str, cloud: RunningSandbox
) -> None:
    # Galleries_CreateOrUpdate: 201, provisioningState Creating, an async operation to poll.
    ex = example("Gallery_Create")
    status, headers, body = send(arm, "PUT", gallery_path(session), ex["parameters"]["gallery"])
    assert status == 201
    same_shape(body, ex["responses"]["201"]["body"])
    assert body["properties"]["provisioningState"] == "Creating"
    assert body["properties"]["identifier"]["uniqueName"] == (
        f"{session.subscription_id}-{GALLERY.upper()}"
    )
    operation = headers["Azure-AsyncOperation"]
    assert "/capsOperations/" in operation
    token = session.credential.get_token(session.endpoints.arm_scope).token
    polled = requests.get(
        operation, headers={"Authorization": f"Bearer {token}"}, verify=cloud.ca_bundle, timeout=10
    ).json()
    assert polled["status"] in ("InProgress", "Succeeded")
    settle(arm, gallery_path(session))
    status, _, body = send(arm, "GET", gallery_path(session))
    assert status == 200
    same_shape(body, example("Gallery_Get")["responses"]["200"]["body"])

    # GalleryApplications: create answers 201 synchronously (no operation headers).
    ex = example("GalleryApplication_Create")
    app = gallery_path(session, "applications", APP)
    status, headers, body = send(arm, "PUT", app, ex["parameters"]["galleryApplication"])
    assert status == 201
    assert "Azure-AsyncOperation" not in headers and "Location" not in headers
    same_shape(body, ex["responses"]["201"]["body"])
    assert body["type"] == "Microsoft.Compute/galleries/applications"
    status, _, body = send(arm, "GET", app)
    same_shape(body, example("GalleryApplication_Get")["responses"]["200"]["body"])
    ex = example("GalleryApplication_Update")
    status, _, body = send(arm, "PATCH", app, ex["parameters"]["galleryApplication"])
    assert status == 200
    same_shape(body, ex["responses"]["200"]["body"])
    status, _, body = send(arm, "GET", gallery_path(session, "applications"))
    listed = example("GalleryApplication_ListByGallery")["responses"]["200"]["body"]
    assert status == 200 and [a["name"] for a in body["value"]] == [APP]
    same_shape(body["value"][0], listed["value"][0])

    # Versions: 201 with only Azure-AsyncOperation and provisioningState Creating.
    ex = example("GalleryApplicationVersion_Create")
    version = gallery_path(session, "applications", APP, "versions", "1.0.0")
    request = json.loads(json.dumps(ex["parameters"]["galleryApplicationVersion"]))
    request["properties"]["publishingProfile"]["source"]["mediaLink"] = media_link
    status, headers, body = send(arm, "PUT", version, request)
    assert status == 201
    assert "Azure-AsyncOperation" in headers and "Location" not in headers
    assert body["properties"]["provisioningState"] == "Creating"
    expected = ex["responses"]["201"]["body"]
    for key in ("settings", "advancedSettings"):  # shown by the example, not sent by it
        expected["properties"]["publishingProfile"].pop(key)
    same_shape(body, expected)
    status, _, body = send(arm, "GET", version + "?$expand=ReplicationStatus")
    assert body["properties"]["replicationStatus"]["aggregatedState"] in ("InProgress", "Completed")
    final = settle(arm, version, "ReplicationStatus")
    assert final["properties"]["provisioningState"] == "Succeeded"
    replicated = example("GalleryApplicationVersion_Get_WithReplicationStatus")
    expected = replicated["responses"]["200"]["body"]
    for key in ("settings", "advancedSettings"):
        expected["properties"]["publishingProfile"].pop(key)
    same_shape(final, expected)
    assert final["properties"]["replicationStatus"]["summary"] == [
        {"region": "West US", "state": "Completed", "details": "", "progress": 100}
    ]
    status, _, body = send(arm, "GET", version)
    assert "replicationStatus" not in body["properties"]
    same_shape(body, example("GalleryApplicationVersion_Get")["responses"]["200"]["body"])

    # Update: 200 with the operation header.
    ex = example("GalleryApplicationVersion_Update")
    request = json.loads(json.dumps(ex["parameters"]["galleryApplicationVersion"]))
    request["properties"]["publishingProfile"]["source"]["mediaLink"] = media_link
    status, headers, body = send(arm, "PATCH", version, request)
    assert status == 200 and "Azure-AsyncOperation" in headers
    assert body["properties"]["provisioningState"] == "Updating"
    same_shape(body, ex["responses"]["200"]["body"])
    settle(arm, version)
    status, _, body = send(arm, "GET", gallery_path(session, "applications", APP, "versions"))
    listed = example("GalleryApplicationVersion_ListByGalleryApplication")
    assert status == 200
    same_shape(body["value"][0], listed["responses"]["200"]["body"]["value"][0])

    # Deletes: 202 with both headers, then gone; deleting again is 204.
    status, headers, _ = send(arm, "DELETE", version)
    assert status == 202
    assert "/capsOperations/" in headers["Azure-AsyncOperation"] and "Location" in headers
    assert settle(arm, version) == {}
    assert send(arm, "DELETE", version)[0] == 204
    status, headers, _ = send(arm, "DELETE", app)
    assert status == 202 and "Location" in headers
    assert settle(arm, app) == {}


@pytest.fixture(scope="module")
def application(session: CloudSession, arm: ArmClient) -> str:
    name = "rulesapp"
    send(arm, "PUT", gallery_path(session), {"location": "westus"})
    settle(arm, gallery_path(session))
    path = gallery_path(session, "applications", name)
    status, _, _ = send(
        arm, "PUT", path, {"location": "westus", "properties": {"supportedOSType": "Linux"}}
    )
    assert status in (200, 201)
    return path


def version_body(link: str, **profile: Any) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {
            "publishingProfile": {
                "source": {"mediaLink": link},
                "manageActions": {"install": "./i.sh", "remove": "./r.sh"},
                **profile,
            }
        },
    }


def test_unreadable_media_link_fails_the_version(
    session: CloudSession, arm: ArmClient, application: str, media_link: str
) -> None:
    without_sas = media_link.split("?", 1)[0]
    path = f"{application}/versions/2.0.0"
    status, _, _ = send(arm, "PUT", path, version_body(without_sas))
    assert status == 201  # accepted, as Azure does, then failed
    final = settle(arm, path, "ReplicationStatus")
    assert final["properties"]["provisioningState"] == "Failed"
    summary = final["properties"]["replicationStatus"]["summary"][0]
    assert summary["state"] == "Failed" and summary["progress"] == 0
    assert "HTTP 40" in summary["details"] and "sig=" not in summary["details"]
    missing = media_link.replace("package.zip", "nothing-here.zip")
    status, _, _ = send(arm, "PUT", f"{application}/versions/2.0.1", version_body(missing))
    failed = settle(arm, f"{application}/versions/2.0.1", "ReplicationStatus")
    assert failed["properties"]["replicationStatus"]["aggregatedState"] == "Failed"


@pytest.mark.parametrize(
    ("suffix", "body_change", "status", "code"),
    [
        ("versions/1.0", {}, 400, "InvalidParameter"),
        ("versions/1.0.2147483648", {}, 400, "InvalidParameter"),
        ("versions/3.0.0", {"manageActions": None}, 400, "InvalidParameter"),
        ("versions/3.0.1", {"targetRegions": [{"name": "eastus"}]}, 400, "InvalidParameter"),
        ("versions/3.0.2", {"replicaCount": 0}, 400, "InvalidParameter"),
    ],
)
def test_version_validation(
    arm: ArmClient,
    application: str,
    media_link: str,
    suffix: str,
    body_change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body = version_body(media_link)
    profile = body["properties"]["publishingProfile"]
    for key, value in body_change.items():
        if value is None:
            profile.pop(key)
        else:
            profile[key] = value
    got, _, error = send(arm, "PUT", f"{application}/{suffix}", body)
    assert (got, error["error"]["code"]) == (status, code)


def test_application_rules(session: CloudSession, arm: ArmClient, application: str) -> None:
    windows = {"location": "westus", "properties": {"supportedOSType": "Windows"}}
    status, _, error = send(arm, "PUT", application, windows)
    assert (status, error["error"]["code"]) == (409, "PropertyChangeNotAllowed")
    status, _, error = send(arm, "PUT", application, windows, **{"If-None-Match": "*"})
    assert (status, error["error"]["code"]) == (412, "PreconditionFailed")
    status, _, error = send(arm, "PUT", gallery_path(session, "applications", "bad-"), windows)
    assert (status, error["error"]["target"]) == (400, "galleryApplicationName")
    orphan = gallery_path(session, "applications", "nothere", "versions", "1.0.0")
    status, _, error = send(arm, "PUT", orphan, version_body("https://x/y"))
    assert (status, error["error"]["code"]) == (404, "ParentResourceNotFound")
    status, _, error = send(arm, "GET", gallery_path(session, "applications", "nothere"))
    assert (status, error["error"]["code"]) == (404, "ResourceNotFound")


def test_nested_resources_block_deletes(
    session: CloudSession, arm: ArmClient, application: str, media_link: str
) -> None:
    path = f"{application}/versions/4.0.0"
    assert send(arm, "PUT", path, version_body(media_link))[0] == 201
    settle(arm, path)
    status, _, error = send(arm, "DELETE", application)
    assert status == 409 and "nested resources" in error["error"]["message"]
    status, _, error = send(arm, "DELETE", gallery_path(session))
    assert status == 409
    status, _, error = send(
        arm, "PUT", path, version_body(media_link, storageAccountType="Premium_LRS")
    )
    assert (status, error["error"]["code"]) == (409, "PropertyChangeNotAllowed")
    changed = version_body(media_link)
    changed["properties"]["publishingProfile"]["manageActions"]["install"] = "./other.sh"
    status, _, error = send(arm, "PUT", path, changed)
    assert (status, error["error"]["code"]) == (409, "PropertyChangeNotAllowed")


def test_seed_goes_through_the_same_puts(tmp_path: Path) -> None:
    """A seeded gallery, application and version exist settled; a seeded version whose
    mediaLink cannot be read fails exactly as a client's would."""
    seed = {
        "resourceGroups": [{"name": "rg-seed", "location": "eastus"}],
        "galleries": [
            {
                "name": "seeded",
                "resourceGroup": "rg-seed",
                "location": "eastus",
                "applications": [
                    {
                        "name": "tool",
                        "osType": "Windows",
                        "versions": [
                            {
                                "name": "1.0.0",
                                "mediaLink": "https://127.0.0.1:9/none/pkg.zip?sig=x",
                                "install": "install.cmd",
                                "remove": "remove.cmd",
                                "targetRegions": ["eastus", "westus2"],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    running = start_sandbox(tmp_path / "state", seed=yaml.safe_dump(seed), time_scale=0.005)
    try:
        world = json.loads((running.state_dir / "world.json").read_text())
        by_type = {d["type"]: d for d in world["resources"] if "galleries" in d["type"]}
        assert by_type["Microsoft.Compute/galleries"]["properties"]["provisioningState"] == (
            "Succeeded"
        )
        app = by_type["Microsoft.Compute/galleries/applications"]
        assert app["properties"]["supportedOSType"] == "Windows"
        version = by_type["Microsoft.Compute/galleries/applications/versions"]
        assert version["properties"]["provisioningState"] == "Failed"
        regions = version["properties"]["publishingProfile"]["targetRegions"]
        assert [r["name"] for r in regions] == ["East US", "West US 2"]
    finally:
        running.stop()
