"""Everything PublishVmApp was asked to do, read once from the inputs and checked as a whole.

Single-input rules run in the agent runner (rules.CHECKS); here come the rules between inputs
(package or packageUrl, storage for an upload, files that must exist and be readable). All
problems are reported together and nothing in Azure has been touched when they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pytask.agent import InputErrors, TaskContext
from pytask.tasks.publish import rules


@dataclass(frozen=True)
class Commands:
    install: str
    remove: str
    update: str = ""


@dataclass(frozen=True)
class ApplicationDetails:
    """Used only when the task creates the gallery application."""

    os_type: str
    description: str = ""
    eula: str = ""
    privacy_statement_uri: str = ""
    release_note_uri: str = ""
    end_of_life: datetime | None = None


@dataclass(frozen=True)
class Storage:
    account: str
    container: str
    resource_group: str


@dataclass(frozen=True)
class PublishSpec:
    resource_group: str
    gallery: str
    application: str
    version: str
    create_application: bool
    app_details: ApplicationDetails
    package: Path | None  # a file or a folder to zip
    package_url: rules.BlobLocation | None
    config_file: Path | None
    storage: Storage | None
    commands: Commands
    package_file_name: str
    config_file_name: str
    script_behavior_after_reboot: str
    target_regions: tuple[rules.TargetRegion, ...]
    replica_count: int
    storage_account_type: str
    exclude_from_latest: bool
    end_of_life: datetime | None
    allow_deletion_of_replicated_locations: bool
    tags: dict[str, str] = field(default_factory=dict)
    if_version_exists: str = "skipIfIdentical"
    wait_for_replication: bool = True
    timeout_minutes: int = 60


def read_spec(ctx: TaskContext) -> PublishSpec:
    """The validated spec; InputErrors (every problem at once) when inputs disagree."""
    inputs = ctx.inputs
    problems: list[str] = []
    package = inputs.path("package")
    package_url = _blob(ctx)
    if (package is None) == (package_url is None):
        problems.append(
            f"{_name(ctx, 'package')} and {_name(ctx, 'packageUrl')}: give exactly one of them "
            "(a file or folder to upload, or the URL of a blob already in storage)."
        )
    if package is not None:
        problems += _readable(ctx, "package", package, folder_ok=True)
    config = inputs.path("configFile")
    if config is not None:
        problems += _readable(ctx, "configFile", config, folder_ok=False)
    storage = _storage(ctx, package is not None, problems)
    if problems:
        raise InputErrors(problems)
    application = inputs.string("applicationName")
    return PublishSpec(
        resource_group=inputs.string("resourceGroup"),
        gallery=inputs.string("galleryName"),
        application=application,
        version=inputs.string("version"),
        create_application=inputs.boolean("createApplication"),
        app_details=ApplicationDetails(
            os_type=inputs.pick("osType"),
            description=inputs.get("applicationDescription"),
            eula=inputs.get("eula"),
            privacy_statement_uri=inputs.get("privacyStatementUri"),
            release_note_uri=inputs.get("releaseNoteUri"),
            end_of_life=_date(ctx, "applicationEndOfLifeDate"),
        ),
        package=package,
        package_url=package_url,
        config_file=config,
        storage=storage,
        commands=Commands(
            inputs.string("installCommand"),
            inputs.string("removeCommand"),
            inputs.get("updateCommand"),
        ),
        package_file_name=inputs.get("packageFileName") or application,
        config_file_name=inputs.get("configFileName") if config is not None else "",
        script_behavior_after_reboot=inputs.pick("scriptBehaviorAfterReboot") or "None",
        target_regions=rules.target_regions(inputs.get("targetRegions")),
        replica_count=rules.replicas(inputs.get("replicaCount") or "1"),
        storage_account_type=inputs.pick("storageAccountType") or "Standard_LRS",
        exclude_from_latest=inputs.boolean("excludeFromLatest"),
        end_of_life=_date(ctx, "endOfLifeDate"),
        allow_deletion_of_replicated_locations=inputs.boolean("allowDeletionOfReplicatedLocations"),
        tags=rules.tags(inputs.get("tags")) if inputs.get("tags") else {},
        if_version_exists=inputs.pick("ifVersionExists") or "skipIfIdentical",
        wait_for_replication=inputs.boolean("waitForReplication"),
        timeout_minutes=rules.timeout_minutes(inputs.get("timeoutMinutes") or "60"),
    )


def _name(ctx: TaskContext, name: str) -> str:
    return ctx.inputs.definition.input(name).display


def _blob(ctx: TaskContext) -> rules.BlobLocation | None:
    text = ctx.inputs.get("packageUrl")
    return rules.blob_url(text) if text else None


def _date(ctx: TaskContext, name: str) -> datetime | None:
    text = ctx.inputs.get(name)
    return rules.future_date(text) if text else None


def _readable(ctx: TaskContext, name: str, path: Path, *, folder_ok: bool) -> list[str]:
    label = _name(ctx, name)
    if not path.exists():
        return [f'{label}: "{path}" does not exist.']
    if path.is_dir():
        if not folder_ok:
            return [f'{label}: "{path}" is a folder; expected a file.']
        if not os.access(path, os.R_OK | os.X_OK):
            return [f'{label}: the folder "{path}" cannot be read.']
        if not any(p.is_file() for p in path.rglob("*")):
            return [f'{label}: the folder "{path}" contains no files.']
        return []
    if not path.is_file():
        return [f'{label}: "{path}" is not a regular file.']
    if not os.access(path, os.R_OK):
        return [f'{label}: the file "{path}" cannot be read.']
    if name == "package" and path.stat().st_size == 0:
        return [f'{label}: the file "{path}" is empty.']
    return []


def _storage(ctx: TaskContext, uploading: bool, problems: list[str]) -> Storage | None:
    account = ctx.inputs.get("storageAccount")
    container = ctx.inputs.get("storageContainer")
    if not uploading:
        return None
    for name, value in (("storageAccount", account), ("storageContainer", container)):
        if not value:
            problems.append(f"{_name(ctx, name)} is required to upload the package.")
    if not account or not container:
        return None
    group = ctx.inputs.get("storageResourceGroup") or ctx.inputs.get("resourceGroup")
    return Storage(account, container, group)
