"""DevTest Labs documents on the World: labs with their default repositories, artifact
sources with ARM templates and artifacts, environments and lab VMs. No HTTP here.

Child resources keep their location private (`_location`) so that generic resource listings
show labs and lab VMs only, as ARM's do; views add it back. Time-dependent states (a lab VM's
artifacts installing one after the other) are start/end times computed when read.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World, public
from pytask.sandbox.providers.devtestlab import repository

NS = "Microsoft.DevTestLab"
LAB_TYPE = f"{NS}/labs"
SOURCE_TYPE = f"{NS}/labs/artifactsources"
TEMPLATE_TYPE = f"{NS}/labs/artifactSources/armTemplates"
ARTIFACT_TYPE = f"{NS}/labs/artifactSources/artifacts"
VNET_TYPE = f"{NS}/labs/virtualnetworks"
ENVIRONMENT_TYPE = f"{NS}/labs/users/environments"
LAB_VM_TYPE = f"{NS}/labs/virtualMachines"

PUBLIC_ARTIFACTS = "public repo"
PUBLIC_ENVIRONMENTS = "public environment repo"
PUBLIC_URI = "https://github.com/Azure/azure-devtestlab.git"

# Real-Azure seconds (scaled by --time-scale).
LAB_CREATE_SECONDS = 60.0
LAB_VM_OVERHEAD_SECONDS = 90.0  # DevTest Labs' own work around the compute VM
ARTIFACT_SECONDS = 60.0
DELETE_SECONDS = 60.0


@dataclass(frozen=True)
class SourceSpec:
    name: str
    display_name: str
    uri: str
    source_type: str
    folder_path: str | None
    template_folder_path: str | None
    branch: str | None = None
    tags: Mapping[str, str] | None = None


def new_identifier() -> str:
    return str(uuid.uuid4())


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document as GET answers it."""
    result = public(copy.deepcopy(dict(doc)))
    if "_location" in doc:
        result["location"] = doc["_location"]
    return result


def lab_id(group_id: str, lab: str) -> str:
    return f"{group_id}/providers/{NS}/labs/{lab}"


# --- labs -----------------------------------------------------------------------------------
def lab_doc(resource_id: str, name: str, body: Mapping[str, Any], now: float) -> dict[str, Any]:
    props = dict(body.get("properties") or {})
    group = resource_id.split("/providers/")[0]
    # Azure names the lab's storage accounts and key vault after the lab; the sandbox reports
    # their ids but does not create them (no task reads them).
    stem = "a" + "".join(c for c in name.lower() if c.isalnum())[:10]
    suffix = uuid.uuid4().hex
    storage = f"{group}/providers/Microsoft.Storage/storageAccounts/{stem}{suffix[:8]}"
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": LAB_TYPE,
        "location": body["location"],
        "properties": {
            "defaultStorageAccount": storage,
            "defaultPremiumStorageAccount": storage,
            "artifactsStorageAccount": storage,
            "premiumDataDiskStorageAccount": storage,
            "vaultName": f"{group}/providers/Microsoft.KeyVault/vaults/{stem}{suffix[:6]}",
            "labStorageType": props.get("labStorageType", "Premium"),
            "mandatoryArtifactsResourceIdsLinux": [],
            "mandatoryArtifactsResourceIdsWindows": [],
            "createdDate": iso(now),
            "premiumDataDisks": props.get("premiumDataDisks", "Disabled"),
            "environmentPermission": props.get("environmentPermission", "Reader"),
            "announcement": {"title": "", "markdown": "", "enabled": "Disabled", "expired": False},
            "support": {"enabled": "Disabled", "markdown": ""},
            "provisioningState": "Creating",
            "uniqueIdentifier": new_identifier(),
        },
    }
    if body.get("tags"):
        doc["tags"] = dict(body["tags"])
    return doc


def lab_view(doc: Mapping[str, Any], now: float) -> dict[str, Any]:
    result = view(doc)
    ready = now >= float(doc.get("_ready", 0.0))
    result["properties"]["provisioningState"] = "Succeeded" if ready else "Creating"
    return result


def default_sources() -> list[SourceSpec]:
    """What a lab created through ARM gets: the two public repositories."""
    return [
        SourceSpec(PUBLIC_ARTIFACTS, "Public Artifact Repository", PUBLIC_URI, "GitHub",
                   "/Artifacts", None, "master"),
        SourceSpec(PUBLIC_ENVIRONMENTS, "Public Environment Repository", PUBLIC_URI, "GitHub",
                   None, "/Environments", "master"),
    ]  # fmt: skip


def _builtin(spec: SourceSpec, folder: str) -> str | None:
    """The sandbox's stand-in for the public GitHub repository's folders."""
    if spec.uri != PUBLIC_URI:
        return None
    if folder == "artifacts" and spec.folder_path:
        return repository.BUILTIN_PREFIX + "public-artifacts"
    if folder == "templates" and spec.template_folder_path:
        return repository.BUILTIN_PREFIX + "public-environments"
    return None


# --- artifact sources -----------------------------------------------------------------------
def source_spec(name: str, body: Mapping[str, Any]) -> SourceSpec:
    props = body.get("properties")
    if not isinstance(props, Mapping):
        raise ArmError(400, "InvalidRequestContent", "properties is required.")
    uri = props.get("uri")
    if not isinstance(uri, str) or not uri:
        raise ArmError(400, "InvalidArtifactSourceUri", "The artifact source uri is required.")
    source_type = str(props.get("sourceType") or "GitHub")
    if source_type not in ("VsoGit", "GitHub", "StorageAccount"):
        raise ArmError(
            400,
            "InvalidArtifactSourceType",
            f"The source type '{source_type}' is not valid. Use VsoGit, GitHub or StorageAccount.",
        )
    return SourceSpec(
        name=name,
        display_name=str(props.get("displayName") or name),
        uri=uri,
        source_type=source_type,
        folder_path=props.get("folderPath"),
        template_folder_path=props.get("armTemplateFolderPath"),
        branch=props.get("branchRef"),
        tags=body.get("tags"),
    )


def put_source(
    world: World, lab: Mapping[str, Any], spec: SourceSpec, now: float
) -> tuple[dict[str, Any], bool]:
    """Create or replace an artifact source and (re)read its templates and artifacts."""
    source_id = f"{lab['id']}/artifactsources/{spec.name}"
    existing = world.get(source_id)
    doc: dict[str, Any] = {
        "id": source_id,
        "name": spec.name,
        "type": SOURCE_TYPE,
        "_location": lab["location"],
        "properties": {
            "displayName": spec.display_name,
            "uri": spec.uri,
            "sourceType": spec.source_type,
            **({"folderPath": spec.folder_path} if spec.folder_path else {}),
            **(
                {"armTemplateFolderPath": spec.template_folder_path}
                if spec.template_folder_path
                else {}
            ),
            **({"branchRef": spec.branch} if spec.branch else {}),
            "status": "Enabled",
            "createdDate": existing["properties"]["createdDate"] if existing else iso(now),
            "provisioningState": "Succeeded",
            "uniqueIdentifier": (
                existing["properties"]["uniqueIdentifier"] if existing else new_identifier()
            ),
        },
    }
    if spec.tags:
        doc["tags"] = dict(spec.tags)
    for child in world.children(source_id):
        world.delete(child["id"])
    world.put(doc)
    _load_contents(world, doc, spec, now)
    return doc, existing is None


def _folder(spec: SourceSpec, kind: str, sub_path: str | None) -> Any:
    builtin = _builtin(spec, kind)
    if builtin is not None:
        return repository.folder_of(builtin)
    root = repository.folder_of(spec.uri)
    if root is None or not sub_path:
        return None
    return root / sub_path.strip("/")


def _load_contents(world: World, source: Mapping[str, Any], spec: SourceSpec, now: float) -> None:
    templates = _folder(spec, "templates", spec.template_folder_path)
    for template in repository.templates(templates) if templates else []:
        world.put(
            {
                "id": f"{source['id']}/armtemplates/{template.name}",
                "name": template.name,
                "type": TEMPLATE_TYPE,
                "_location": source["_location"],
                "properties": {
                    "displayName": template.display_name,
                    "description": template.description,
                    "publisher": template.publisher,
                    "contents": template.contents,
                    "createdDate": iso(now),
                    "parametersValueFilesInfo": template.parameter_files,
                    "enabled": True,
                },
            }
        )
    artifacts = _folder(spec, "artifacts", spec.folder_path)
    for artifact in repository.artifacts(artifacts) if artifacts else []:
        world.put(
            {
                "id": f"{source['id']}/artifacts/{artifact.name}",
                "name": artifact.name,
                "type": ARTIFACT_TYPE,
                "_location": source["_location"],
                "properties": {
                    "title": artifact.title,
                    "description": artifact.description,
                    "publisher": artifact.publisher,
                    "filePath": artifact.file_path,
                    "targetOsType": artifact.target_os,
                    "parameters": artifact.parameters,
                    "createdDate": iso(now),
                },
            }
        )


def child(world: World, parent_id: str, full_type: str) -> list[dict[str, Any]]:
    """Direct children of one type (ids compared case-insensitively)."""
    depth = parent_id.rstrip("/").count("/") + 2
    return [
        doc
        for doc in world.children(parent_id, full_type)
        if doc["id"].rstrip("/").count("/") == depth
    ]


# --- environments ---------------------------------------------------------------------------
def environment_id(lab: Mapping[str, Any], owner: str, name: str) -> str:
    return f"{lab['id']}/users/{owner}/environments/{name}"


def environments(world: World, lab: Mapping[str, Any], owner: str | None) -> list[dict[str, Any]]:
    """A user's environments, or everyone's (`owner` None, as `@all`)."""
    docs = world.children(lab["id"], ENVIRONMENT_TYPE)
    if owner is None:
        return docs
    prefix = f"{lab['id']}/users/{owner}/".lower()
    return [d for d in docs if d["id"].lower().startswith(prefix)]


def environment_doc(
    resource_id: str,
    name: str,
    lab: Mapping[str, Any],
    template: Mapping[str, Any],
    given: Sequence[Mapping[str, str]],
    secure: frozenset[str],
    group_id: str,
    caller: str,
    tags: Mapping[str, str] | None,
) -> dict[str, Any]:
    shown = [
        {"name": p["name"], **({} if p["name"] in secure else {"value": p["value"]})} for p in given
    ]
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": ENVIRONMENT_TYPE,
        "_location": lab["location"],
        "properties": {
            "deploymentProperties": {"armTemplateId": template["id"], "parameters": shown},
            "armTemplateDisplayName": template["properties"]["displayName"],
            "resourceGroupId": group_id,
            "createdByUser": caller,
            "provisioningState": "Creating",
            "uniqueIdentifier": new_identifier(),
        },
    }
    if tags:
        doc["tags"] = dict(tags)
    return doc


def environment_view(world: World, doc: Mapping[str, Any], now: float) -> dict[str, Any]:
    result = view(doc)
    result["properties"]["provisioningState"] = environment_state(world, doc, now)
    return result


def environment_state(world: World, doc: Mapping[str, Any], now: float) -> str:
    if doc.get("_deleting"):
        return "Deleting"
    deployment = world.get(str(doc.get("_deployment", "")))
    if deployment is None:
        return str(doc.get("_final", "Failed"))
    if now < float(deployment["_end"]):
        return "Creating"
    return "Failed" if deployment.get("_error") else "Succeeded"


# --- lab virtual machines -------------------------------------------------------------------
def artifact_runs(
    world: World, lab: Mapping[str, Any], requested: Any, os_type: str, start: float, step: float
) -> list[dict[str, Any]]:
    """Check artifact requests against the lab's artifacts; returns their scheduled runs
    (one after the other from `start`, `step` sandbox seconds each)."""
    if requested is None:
        return []
    if not isinstance(requested, list):
        raise ArmError(400, "InvalidRequestContent", "properties.artifacts must be an array.")
    runs: list[dict[str, Any]] = []
    for index, item in enumerate(requested):
        artifact_id = str((item or {}).get("artifactId") or "")
        artifact = world.get(artifact_id)
        if artifact is None or not artifact_id.lower().startswith(lab["id"].lower() + "/"):
            raise ArmError(
                400,
                "InvalidArtifactId",
                f"The artifact '{artifact_id}' was not found in lab '{lab['name']}'.",
                target=f"properties.artifacts[{index}].artifactId",
            )
        target_os = artifact["properties"]["targetOsType"]
        if target_os.lower() not in (os_type.lower(), "any"):
            raise ArmError(
                400,
                "ArtifactOsTypeMismatch",
                f"The artifact '{artifact['name']}' targets {target_os}; the virtual machine "
                f"is {os_type}.",
                target=f"properties.artifacts[{index}].artifactId",
            )
        parameters = _artifact_parameters(artifact, item.get("parameters"), index)
        runs.append(
            {
                "artifactId": artifact["id"],
                "artifactTitle": artifact["properties"]["title"],
                "parameters": parameters,
                "_start": start + step * index,
                "_end": start + step * (index + 1),
            }
        )
    return runs


def _artifact_parameters(artifact: Mapping[str, Any], given: Any, index: int) -> list[Any]:
    definitions: Mapping[str, Any] = artifact["properties"].get("parameters") or {}
    values = {str(p.get("name")): p.get("value") for p in given or [] if isinstance(p, Mapping)}
    target = f"properties.artifacts[{index}].parameters"
    for name in values:
        if name not in definitions:
            raise ArmError(
                400,
                "InvalidArtifactParameter",
                f"The parameter '{name}' is not defined by artifact '{artifact['name']}'. "
                f"Defined: {', '.join(definitions) or 'none'}.",
                target=target,
            )
    for name, definition in definitions.items():
        value = values.get(name, definition.get("defaultValue"))
        if value is None:
            raise ArmError(
                400,
                "MissingArtifactParameter",
                f"The artifact '{artifact['name']}' requires the parameter '{name}'.",
                target=target,
            )
        allowed = definition.get("allowedValues")
        if allowed is not None and value not in allowed:
            raise ArmError(
                400,
                "InvalidArtifactParameter",
                f"The value '{value}' of parameter '{name}' of artifact '{artifact['name']}' "
                f"is not one of: {', '.join(str(a) for a in allowed)}.",
                target=target,
            )
    return [{"name": name, "value": value} for name, value in values.items()]


def fail_last_artifact(runs: list[dict[str, Any]], message: str) -> None:
    if runs:
        runs[-1]["_failure"] = message


def artifact_status(run: Mapping[str, Any], now: float) -> str:
    if now < run["_start"]:
        return "Pending"
    if now < run["_end"]:
        return "Installing"
    return "Failed" if run.get("_failure") else "Succeeded"


def artifacts_view(doc: Mapping[str, Any], now: float) -> list[dict[str, Any]]:
    views = []
    for run in doc.get("_artifacts", []):
        status = artifact_status(run, now)
        item = {k: copy.deepcopy(v) for k, v in run.items() if not k.startswith("_")}
        item["status"] = status
        if status in ("Succeeded", "Failed"):
            item["installTime"] = iso(run["_end"])
            item["deploymentStatusMessage"] = run.get("_failure") or "Succeeded"
            item["vmExtensionStatusMessage"] = run.get("_failure") or "Enable succeeded"
        views.append(item)
    return views


def lab_vm_state(doc: Mapping[str, Any], now: float) -> str:
    if doc.get("_deleting"):
        return "Deleting"
    if doc.get("_failure") and now >= doc["_ready"]:
        return "Failed"
    runs = doc.get("_artifacts", [])
    done = max([doc["_ready"], *(r["_end"] for r in runs)])
    return "Creating" if now < done else "Succeeded"


def lab_vm_view(doc: Mapping[str, Any], now: float, expand_artifacts: bool) -> dict[str, Any]:
    result = view(doc)
    props = result["properties"]
    props["provisioningState"] = lab_vm_state(doc, now)
    runs = artifacts_view(doc, now)
    applied = sum(1 for r in runs if r["status"] in ("Succeeded", "Failed"))
    failed = any(r["status"] == "Failed" for r in runs)
    props["artifactDeploymentStatus"] = {
        "deploymentStatus": "Failed" if failed else ("Succeeded" if applied == len(runs)
                                                     else "Installing"),
        "artifactsApplied": applied,
        "totalArtifacts": len(runs),
    }  # fmt: skip
    if expand_artifacts:
        props["artifacts"] = runs
    return result


def lab_vms(world: World, lab: Mapping[str, Any]) -> list[dict[str, Any]]:
    return child(world, lab["id"], LAB_VM_TYPE)
