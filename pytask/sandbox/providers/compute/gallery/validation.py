"""Request-body validation for galleries, applications and versions, as GalleryRP answers it.

Each check raises ArmError(400, ...) with the property path as target. Normalisation (defaults
Azure fills in) lives in models.py; this module only says yes or no.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.providers.compute.gallery import regions

MAX_COMMAND = 4096
MAX_FILE_NAME = 4096
OS_TYPES = ("Windows", "Linux")
STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")
REBOOT_BEHAVIOURS = ("None", "Rerun")
MAX_REPLICAS = 10


def _bad(message: str, target: str, code: str = "InvalidParameter") -> ArmError:
    return ArmError(400, code, message, target)


def _required(value: Any, target: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad(f"Required parameter '{target}' is missing (null).", target)


def _object(value: Any, target: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad(f"The value of parameter '{target}' must be an object.", target)
    return value


def _string(value: Any, target: str, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"The value of parameter '{target}' must be a string.", target)
    if limit is not None and len(value) > limit:
        raise _bad(
            f"The value of parameter '{target}' is too long: {len(value)} characters, "
            f"the limit is {limit}.",
            target,
        )
    return value


def _bool(value: Any, target: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise _bad(f"The value of parameter '{target}' must be a boolean.", target)


def parse_datetime(value: Any, target: str) -> datetime:
    text = _string(value, target) or ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(
            f"The value '{text}' of parameter '{target}' is not a valid date.", target
        ) from None
    if moment.tzinfo is None:
        raise _bad(f"The value '{text}' of parameter '{target}' has no time zone.", target)
    return moment


def check_location(body: Mapping[str, Any], gallery_location: str | None = None) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise ArmError(
            400,
            "LocationRequired",
            "The location property is required for this definition.",
        )
    if not regions.known(location):
        raise _bad(f"The location '{location}' is not a valid Azure region.", "location")
    if gallery_location is not None and regions.canonical(location) != regions.canonical(
        gallery_location
    ):
        raise _bad(
            f"The location '{location}' must be the same as the gallery's location "
            f"'{gallery_location}'.",
            "location",
        )
    return location


def check_tags(body: Mapping[str, Any]) -> None:
    tags = body.get("tags")
    if tags is None:
        return
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise _bad("Tags must be an object of string values.", "tags", "InvalidTagNameCharacters")
    for name, value in tags.items():
        if len(name) > 512 or len(value) > 256:
            raise _bad(
                f"The tag '{name[:40]}' is too long (names up to 512, values up to 256).",
                "tags",
                "InvalidTag",
            )


def check_gallery(body: Mapping[str, Any]) -> None:
    check_location(body)
    check_tags(body)
    props = _object(body.get("properties"), "properties")
    _string(props.get("description"), "properties.description")


def check_application(body: Mapping[str, Any], gallery_location: str) -> None:
    check_location(body, gallery_location)
    check_tags(body)
    props = _object(body.get("properties"), "properties")
    os_type = props.get("supportedOSType")
    _required(os_type, "properties.supportedOSType")
    if os_type not in OS_TYPES:
        raise _bad(
            f"The value '{os_type}' is not valid for 'properties.supportedOSType'. "
            "Allowed values: Windows, Linux.",
            "properties.supportedOSType",
        )
    for name in ("description", "eula", "privacyStatementUri", "releaseNoteUri"):
        _string(props.get(name), f"properties.{name}")
    if props.get("endOfLifeDate") is not None:
        parse_datetime(props["endOfLifeDate"], "properties.endOfLifeDate")


def check_version(body: Mapping[str, Any], gallery_location: str) -> None:
    location = check_location(body, gallery_location)
    check_tags(body)
    props = _object(body.get("properties"), "properties")
    profile = _object(props.get("publishingProfile"), "properties.publishingProfile")
    _required(props.get("publishingProfile"), "properties.publishingProfile")
    _check_source(_object(profile.get("source"), "publishingProfile.source"))
    _check_manage(profile.get("manageActions"))
    _check_settings(_object(profile.get("settings"), "publishingProfile.settings"))
    _check_replication(profile, location)
    _bool(profile.get("excludeFromLatest"), "publishingProfile.excludeFromLatest")
    _bool(profile.get("enableHealthCheck"), "publishingProfile.enableHealthCheck")
    if profile.get("endOfLifeDate") is not None:
        parse_datetime(profile["endOfLifeDate"], "publishingProfile.endOfLifeDate")
    advanced = _object(profile.get("advancedSettings"), "publishingProfile.advancedSettings")
    if not all(isinstance(v, str) for v in advanced.values()):
        raise _bad("Advanced settings must be string values.", "publishingProfile.advancedSettings")
    safety = _object(props.get("safetyProfile"), "properties.safetyProfile")
    _bool(
        safety.get("allowDeletionOfReplicatedLocations"),
        "safetyProfile.allowDeletionOfReplicatedLocations",
    )


def _check_source(source: Mapping[str, Any]) -> None:
    target = "publishingProfile.source.mediaLink"
    link = source.get("mediaLink")
    _required(link, target)
    _check_url(link, target)
    if source.get("defaultConfigurationLink") is not None:
        _check_url(
            source["defaultConfigurationLink"], "publishingProfile.source.defaultConfigurationLink"
        )


def _check_url(value: Any, target: str) -> None:
    text = _string(value, target) or ""
    if not text.lower().startswith(("https://", "http://")):
        raise _bad(f"The value of parameter '{target}' is not a valid blob URL.", target)


def _check_manage(manage: Any) -> None:
    actions = _object(manage, "publishingProfile.manageActions")
    _required(manage, "publishingProfile.manageActions")
    for name in ("install", "remove"):
        _required(actions.get(name), f"publishingProfile.manageActions.{name}")
    for name in ("install", "remove", "update"):
        _string(actions.get(name), f"publishingProfile.manageActions.{name}", MAX_COMMAND)


def _check_settings(settings: Mapping[str, Any]) -> None:
    for name in ("packageFileName", "configFileName"):
        _string(settings.get(name), f"publishingProfile.settings.{name}", MAX_FILE_NAME)
    behaviour = settings.get("scriptBehaviorAfterReboot")
    if behaviour is not None and behaviour not in REBOOT_BEHAVIOURS:
        raise _bad(
            f"The value '{behaviour}' is not valid for 'scriptBehaviorAfterReboot'. "
            "Allowed values: None, Rerun.",
            "publishingProfile.settings.scriptBehaviorAfterReboot",
        )


def _check_replicas(value: Any, target: str) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_REPLICAS:
        raise _bad(
            f"The value of parameter '{target}' must be an integer from 1 to {MAX_REPLICAS}.",
            target,
        )


def _check_storage_type(value: Any, target: str) -> None:
    if value is not None and value not in STORAGE_TYPES:
        raise _bad(
            f"The value '{value}' is not valid for '{target}'. Allowed values: "
            + ", ".join(STORAGE_TYPES)
            + ".",
            target,
        )


def _check_replication(profile: Mapping[str, Any], location: str) -> None:
    _check_replicas(profile.get("replicaCount"), "publishingProfile.replicaCount")
    _check_storage_type(profile.get("storageAccountType"), "publishingProfile.storageAccountType")
    targets = profile.get("targetRegions")
    if targets is None:
        return
    if not isinstance(targets, list) or not targets:
        raise _bad("Target regions must be a non-empty list.", "publishingProfile.targetRegions")
    seen: set[str] = set()
    for index, region in enumerate(targets):
        target = f"publishingProfile.targetRegions[{index}]"
        entry = _object(region, target)
        name = entry.get("name")
        _required(name, f"{target}.name")
        if not isinstance(name, str) or not regions.known(name):
            raise _bad(f"The region '{name}' is not a valid Azure region.", f"{target}.name")
        if regions.canonical(name) in seen:
            raise _bad(f"The region '{name}' is listed more than once.", f"{target}.name")
        seen.add(regions.canonical(name))
        _check_replicas(entry.get("regionalReplicaCount"), f"{target}.regionalReplicaCount")
        _check_storage_type(entry.get("storageAccountType"), f"{target}.storageAccountType")
        _bool(entry.get("excludeFromLatest"), f"{target}.excludeFromLatest")
    if regions.canonical(location) not in seen:
        raise _bad(
            f"The target regions must include the source region '{location}' of the gallery "
            "application version.",
            "publishingProfile.targetRegions",
        )
