"""Gallery state on the World: documents for galleries, applications and versions, the
defaults Azure fills in, immutability and limits, and the read-only lookup the VM provider uses.

No HTTP here: handlers (responses.py) parse and validate, then call these.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World, public, resource_key
from pytask.sandbox.providers.compute.gallery import names, regions, replication
from pytask.sandbox.providers.compute.gallery.validation import parse_datetime

GALLERY_TYPE = "Microsoft.Compute/galleries"
APPLICATION_TYPE = "Microsoft.Compute/galleries/applications"
VERSION_TYPE = "Microsoft.Compute/galleries/applications/versions"

# GalleryRP's limit on versions of one application replicated to one region.
MAX_VERSIONS_PER_REGION = 300

_PLAN = "_replication"


def _tracked(resource_id: str, name: str, type_: str, body: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": type_,
        "location": regions.canonical(str(body["location"])),
    }
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    return doc


def parent_id(resource_id: str, levels: int = 1) -> str:
    """The id `levels` resources up (each level is a `type/name` pair)."""
    return resource_id.rstrip("/").rsplit("/", 2 * levels)[0]


# --- galleries -----------------------------------------------------------------------------
def gallery_doc(
    resource_id: str, name: str, subscription_id: str, body: Mapping[str, Any], state: str
) -> dict[str, Any]:
    doc = _tracked(resource_id, name, GALLERY_TYPE, body)
    props = dict(body.get("properties") or {})
    props["identifier"] = {"uniqueName": f"{subscription_id}-{name.upper()}"}
    props["provisioningState"] = state
    doc["properties"] = props
    return doc


# --- applications --------------------------------------------------------------------------
def application_doc(
    resource_id: str,
    name: str,
    body: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
) -> dict[str, Any]:
    props = dict(body.get("properties") or {})
    if existing is not None:
        old = existing["properties"]["supportedOSType"]
        if props["supportedOSType"] != old:
            raise property_change("supportedOSType")
    if props.get("endOfLifeDate") is not None:
        props["endOfLifeDate"] = _arm_date(props["endOfLifeDate"], "properties.endOfLifeDate")
    doc = _tracked(resource_id, name, APPLICATION_TYPE, body)
    doc["properties"] = props
    return doc


def patch_application(existing: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """GalleryApplications_Update: merge updatable properties; OS type stays."""
    doc = copy.deepcopy(dict(existing))
    props = dict(body.get("properties") or {})
    os_type = props.pop("supportedOSType", None)
    if os_type is not None and os_type != doc["properties"]["supportedOSType"]:
        raise property_change("supportedOSType")
    if props.get("endOfLifeDate") is not None:
        props["endOfLifeDate"] = _arm_date(props["endOfLifeDate"], "properties.endOfLifeDate")
    doc["properties"].update(props)
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    return doc


def property_change(path: str) -> ArmError:
    return ArmError(
        409, "PropertyChangeNotAllowed", f"Changing property '{path}' is not allowed.", path
    )


def _arm_date(value: Any, target: str) -> str:
    moment = parse_datetime(value, target).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


# --- versions ------------------------------------------------------------------------------
def normalized_profile(profile: Mapping[str, Any], location: str, now: float) -> dict[str, Any]:
    """The publishing profile as GalleryRP stores it, with the defaults it fills in."""
    out = copy.deepcopy(dict(profile))
    out.setdefault("enableHealthCheck", False)
    out.setdefault("replicaCount", 1)
    out.setdefault("excludeFromLatest", False)
    out.setdefault("storageAccountType", "Standard_LRS")
    out["publishedDate"] = iso(now).replace("Z", "+00:00")
    if out.get("endOfLifeDate") is not None:
        out["endOfLifeDate"] = _arm_date(out["endOfLifeDate"], "publishingProfile.endOfLifeDate")
    targets = out.get("targetRegions") or [{"name": location}]
    out["targetRegions"] = [
        {
            **t,
            "name": regions.display(str(t["name"])),
            "regionalReplicaCount": t.get("regionalReplicaCount", out["replicaCount"]),
            "storageAccountType": t.get("storageAccountType", out["storageAccountType"]),
            "excludeFromLatest": t.get("excludeFromLatest", False),
        }
        for t in targets
    ]
    return out


def version_doc(
    resource_id: str,
    name: str,
    body: Mapping[str, Any],
    now: float,
    state: str,
) -> dict[str, Any]:
    props = body.get("properties") or {}
    doc = _tracked(resource_id, name, VERSION_TYPE, body)
    safety = {"allowDeletionOfReplicatedLocations": False, **(props.get("safetyProfile") or {})}
    doc["properties"] = {
        "publishingProfile": normalized_profile(props["publishingProfile"], doc["location"], now),
        "safetyProfile": safety,
        "provisioningState": state,
    }
    return doc


# Version properties that GalleryRP refuses to change once the version exists.
_IMMUTABLE = (
    ("manageActions", "install"),
    ("manageActions", "remove"),
    ("manageActions", "update"),
)


def check_version_update(existing: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """409 PropertyChangeNotAllowed for immutable changes; removing replicated regions needs
    the safety profile's consent."""
    old_p = existing["properties"]["publishingProfile"]
    new_p = new["properties"]["publishingProfile"]
    for group, key in _IMMUTABLE:
        if (old_p.get(group) or {}).get(key) != (new_p.get(group) or {}).get(key):
            raise property_change(
                f"galleryApplicationVersion.properties.publishingProfile.{group}.{key}"
            )
    if old_p.get("storageAccountType") != new_p.get("storageAccountType"):
        raise property_change(
            "galleryApplicationVersion.properties.publishingProfile.storageAccountType"
        )
    old_regions = {regions.canonical(t["name"]) for t in old_p["targetRegions"]}
    new_regions = {regions.canonical(t["name"]) for t in new_p["targetRegions"]}
    allowed = new["properties"]["safetyProfile"].get("allowDeletionOfReplicatedLocations")
    if old_regions - new_regions and not allowed:
        raise ArmError(
            409,
            "OperationNotAllowed",
            "Removing replicated regions from a gallery application version is not allowed "
            "unless 'safetyProfile.allowDeletionOfReplicatedLocations' is true.",
            "galleryApplicationVersion.properties.publishingProfile.targetRegions",
        )


def check_version_limit(world: World, application_id: str, version_doc_: Mapping[str, Any]) -> None:
    """At most MAX_VERSIONS_PER_REGION versions of one application per target region."""
    siblings = [
        v
        for v in world.children(application_id, VERSION_TYPE)
        if resource_key(v["id"]) != resource_key(version_doc_["id"])
    ]
    for target in version_doc_["properties"]["publishingProfile"]["targetRegions"]:
        region = regions.canonical(target["name"])
        count = sum(1 for v in siblings if region in _target_set(v))
        if count >= MAX_VERSIONS_PER_REGION:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"The limit of {MAX_VERSIONS_PER_REGION} gallery application versions per "
                f"region has been reached in region '{target['name']}' for this application. "
                "Delete old versions before publishing new ones.",
                "galleryApplicationVersion.properties.publishingProfile.targetRegions",
            )


def _target_set(version: Mapping[str, Any]) -> set[str]:
    profile = version["properties"]["publishingProfile"]
    return {regions.canonical(t["name"]) for t in profile["targetRegions"]}


def plan_of(doc: Mapping[str, Any]) -> replication.Plan:
    return replication.Plan.from_json(doc.get(_PLAN) or {})


def set_plan(doc: dict[str, Any], plan: replication.Plan) -> None:
    doc[_PLAN] = plan.to_json()


def version_view(doc: Mapping[str, Any], now: float, expand: bool) -> dict[str, Any]:
    """The version as GET answers it; `$expand=ReplicationStatus` adds replicationStatus."""
    out = public(doc)
    if expand:
        out = copy.deepcopy(out)
        out["properties"]["replicationStatus"] = replication.status(plan_of(doc), now)
    return out


# --- effects (run by the core when an operation ends) --------------------------------------
def settle(world: World, args: dict[str, Any]) -> None:
    """Set a resource's provisioningState when its operation ends."""
    doc = world.get(args["id"])
    if doc is not None:
        doc["properties"]["provisioningState"] = args["state"]
        world.put(doc)


def remove(world: World, args: dict[str, Any]) -> None:
    world.delete(args["id"])


# --- the lookup the VM provider uses -------------------------------------------------------
@dataclass(frozen=True)
class ApplicationVersion:
    """A gallery application version as a VM sees it (field names match
    `compute.vm.packages.PackageVersion`)."""

    id: str
    application: str
    version: str
    os_type: str  # the application's supportedOSType
    regions: tuple[str, ...]  # regions where replication has completed (display names)
    target_regions: tuple[str, ...]
    replication_state: str  # aggregatedState: Completed | InProgress | Failed | Unknown
    provisioning_state: str
    media_link: str
    default_configuration_link: str
    install: str
    remove: str
    update: str
    package_file_name: str
    config_file_name: str
    exclude_from_latest: bool

    @property
    def ready(self) -> bool:
        return self.provisioning_state == "Succeeded" and self.replication_state == "Completed"


def find_version(world: World, version_id: str, now: float) -> ApplicationVersion | None:
    """The version at `version_id` (its last segment may be `latest`: the highest version
    not excluded from latest and provisioned), or None when there is none."""
    if version_id.rstrip("/").rsplit("/", 1)[-1].lower() == "latest":
        return _latest(world, parent_id(version_id), now)
    doc = world.get(version_id)
    if doc is None or doc.get("type") != VERSION_TYPE:
        return None
    return _view(world, doc, now)


def _latest(world: World, application_id: str, now: float) -> ApplicationVersion | None:
    candidates = [
        v
        for v in world.children(application_id, VERSION_TYPE)
        if not v["properties"]["publishingProfile"].get("excludeFromLatest")
        and v["properties"]["provisioningState"] == "Succeeded"
        and names.parse_version(v["name"]) is not None
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda v: names.parse_version(v["name"]) or (0, 0, 0))
    return _view(world, best, now)


def _view(world: World, doc: Mapping[str, Any], now: float) -> ApplicationVersion:
    app_id = parent_id(doc["id"])
    app = world.get(app_id) or {"name": "", "properties": {}}
    profile = doc["properties"]["publishingProfile"]
    manage = profile.get("manageActions") or {}
    settings = profile.get("settings") or {}
    plan = plan_of(doc)
    return ApplicationVersion(
        id=doc["id"],
        application=app["name"],
        version=doc["name"],
        os_type=str(app["properties"].get("supportedOSType", "")),
        regions=replication.completed_regions(plan, now),
        target_regions=tuple(t["name"] for t in profile["targetRegions"]),
        replication_state=replication.status(plan, now)["aggregatedState"],
        provisioning_state=doc["properties"]["provisioningState"],
        media_link=profile["source"]["mediaLink"],
        default_configuration_link=profile["source"].get("defaultConfigurationLink") or "",
        install=manage.get("install", ""),
        remove=manage.get("remove", ""),
        update=manage.get("update") or "",
        package_file_name=settings.get("packageFileName") or app["name"],
        config_file_name=settings.get("configFileName") or f"{app['name']}_config",
        exclude_from_latest=bool(profile.get("excludeFromLatest")),
    )
