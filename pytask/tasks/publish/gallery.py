"""The gallery side: the application (created if missing and allowed) and the version body.

Works on the REST JSON shapes (the SDK models' `as_dict()`), which is what the docs and the
x-ms-examples speak, and hands writes to the SDK's own pollers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.core.polling import LROPoller
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import GalleryApplication, GalleryApplicationVersion

from pytask.agent import TaskError
from pytask.tasks.publish import rules
from pytask.tasks.publish.spec import PublishSpec

# Tags the task records on every version it publishes.
TAG_SHA256 = "vmapp.packageSha256"
TAG_RUN = "vmapp.pipelineRun"
TAG_COMMIT = "vmapp.sourceCommit"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Gallery:
    compute: ComputeManagementClient
    spec: PublishSpec

    def _names(self) -> tuple[str, str, str]:
        return self.spec.resource_group, self.spec.gallery, self.spec.application

    def location(self) -> str:
        try:
            found = self.compute.galleries.get(self.spec.resource_group, self.spec.gallery)
        except ResourceNotFoundError:
            raise TaskError(
                f"The gallery '{self.spec.gallery}' does not exist in resource group "
                f"'{self.spec.resource_group}' (or the connection cannot see it). Create the "
                "Azure Compute Gallery first, or correct galleryName / resourceGroup."
            ) from None
        return str(found.location)

    def application(self) -> dict[str, Any] | None:
        try:
            return dict(self.compute.gallery_applications.get(*self._names()).as_dict())
        except ResourceNotFoundError:
            return None

    def create_application(self, location: str) -> dict[str, Any]:
        details = self.spec.app_details
        props: dict[str, Any] = {"supportedOSType": details.os_type}
        optional = {
            "description": details.description,
            "eula": details.eula,
            "privacyStatementUri": details.privacy_statement_uri,
            "releaseNoteUri": details.release_note_uri,
        }
        props.update({k: v for k, v in optional.items() if v})
        if details.end_of_life is not None:
            props["endOfLifeDate"] = _iso(details.end_of_life)
        rg, gallery, app = self._names()
        poller = self.compute.gallery_applications.begin_create_or_update(
            rg, gallery, app, GalleryApplication({"location": location, "properties": props})
        )
        return dict(poller.result().as_dict())

    def version(self, expand: bool = True) -> dict[str, Any] | None:
        try:
            found = self.compute.gallery_application_versions.get(
                *self._names(), self.spec.version, expand="ReplicationStatus" if expand else None
            )
        except ResourceNotFoundError:
            return None
        return dict(found.as_dict())

    def begin_version(self, body: dict[str, Any]) -> LROPoller[GalleryApplicationVersion]:
        rg, gallery, app = self._names()
        return self.compute.gallery_application_versions.begin_create_or_update(
            rg, gallery, app, self.spec.version, GalleryApplicationVersion(body)
        )

    def delete_version(self) -> None:
        self.compute.gallery_application_versions.begin_delete(
            *self._names(), self.spec.version
        ).result()


def target_regions(spec: PublishSpec, gallery_location: str) -> list[dict[str, Any]]:
    """The version's targetRegions; the gallery's own region when none were given."""
    wanted = spec.target_regions or (rules.TargetRegion(gallery_location),)
    return [
        {
            "name": region.name,
            "regionalReplicaCount": region.replicas or spec.replica_count,
            "storageAccountType": region.storage_type or spec.storage_account_type,
            "excludeFromLatest": spec.exclude_from_latest,
        }
        for region in wanted
    ]


def version_body(
    spec: PublishSpec,
    location: str,
    media_link: str,
    config_link: str | None,
    tags: dict[str, str],
) -> dict[str, Any]:
    manage = {"install": spec.commands.install, "remove": spec.commands.remove}
    if spec.commands.update:
        manage["update"] = spec.commands.update
    settings: dict[str, Any] = {
        "packageFileName": spec.package_file_name,
        "scriptBehaviorAfterReboot": spec.script_behavior_after_reboot,
    }
    if spec.config_file_name:
        settings["configFileName"] = spec.config_file_name
    source = {"mediaLink": media_link}
    if config_link:
        source["defaultConfigurationLink"] = config_link
    profile: dict[str, Any] = {
        "source": source,
        "manageActions": manage,
        "settings": settings,
        "targetRegions": target_regions(spec, location),
        "replicaCount": spec.replica_count,
        "storageAccountType": spec.storage_account_type,
        "excludeFromLatest": spec.exclude_from_latest,
    }
    if spec.end_of_life is not None:
        profile["endOfLifeDate"] = _iso(spec.end_of_life)
    return {
        "location": location,
        "tags": tags,
        "properties": {
            "publishingProfile": profile,
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": spec.allow_deletion_of_replicated_locations
            },
        },
    }


def recorded_sha256(version: dict[str, Any]) -> str:
    return str((version.get("tags") or {}).get(TAG_SHA256, ""))


def command_changes(version: dict[str, Any], spec: PublishSpec) -> list[str]:
    """Which install/remove/update commands differ from the existing version's."""
    manage = version.get("properties", {}).get("publishingProfile", {}).get("manageActions", {})
    wanted = {
        "install": spec.commands.install,
        "remove": spec.commands.remove,
        "update": spec.commands.update,
    }
    return [name for name, value in wanted.items() if (manage.get(name) or "") != value]
