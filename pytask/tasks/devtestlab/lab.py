"""The lab as the task reads it: the lab itself, its repositories, templates and artifacts,
environments (everyone's) and lab VMs, with errors that say what exists instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.devtestlabs import DevTestLabsClient
from azure.mgmt.devtestlabs import models as dtl

from pytask.agent import TaskError
from pytask.cloud.arm import ArmClient
from pytask.tasks.devtestlab.spec import ArtifactRequest, LabRef

ARTIFACT_EXPAND = "properties($expand=artifacts)"
RESOURCES_API = "2024-11-01"
NETWORK_API = "2024-05-01"


@dataclass
class Lab:
    client: DevTestLabsClient
    arm: ArmClient
    ref: LabRef
    resource: dtl.Lab

    @classmethod
    def open(cls, client: DevTestLabsClient, arm: ArmClient, ref: LabRef) -> Lab:
        try:
            resource = client.labs.get(ref.resource_group, ref.name)
        except ResourceNotFoundError as error:
            raise TaskError(
                f"Lab {ref.display} was not found (or the connection may not read it; it needs "
                "the DevTest Labs User role on the lab). Check lab and labResourceGroup."
            ) from error
        return cls(client, arm, ref, resource)

    @property
    def id(self) -> str:
        return str(self.resource.id)

    @property
    def location(self) -> str:
        return str(self.resource.location)

    # --- repositories ------------------------------------------------------------------
    def sources(self) -> list[dtl.ArtifactSource]:
        return list(self.client.artifact_sources.list(self.ref.resource_group, self.ref.name))

    def source(self, wanted: str) -> dtl.ArtifactSource:
        sources = self.sources()
        for source in sources:
            if wanted.lower() in (str(source.name).lower(), str(source.display_name).lower()):
                return source
        names = ", ".join(f"'{s.display_name or s.name}'" for s in sources) or "none"
        raise TaskError(f"artifactSource: the lab has no repository '{wanted}' (it has: {names}).")

    def template(self, source: dtl.ArtifactSource, wanted: str) -> dtl.ArmTemplate:
        rg, lab = self.ref.resource_group, self.ref.name
        templates = list(self.client.arm_templates.list(rg, lab, str(source.name)))
        for template in templates:
            if wanted.lower() in (str(template.name).lower(), str(template.display_name).lower()):
                # The list may leave out the contents; the template itself has them.
                return self.client.arm_templates.get(rg, lab, str(source.name), str(template.name))
        names = ", ".join(f"'{t.name}'" for t in templates) or "none"
        raise TaskError(
            f"template: repository '{source.display_name or source.name}' has no template "
            f"'{wanted}' (it has: {names})."
        )

    def artifacts(self) -> list[dtl.Artifact]:
        found: list[dtl.Artifact] = []
        rg, lab = self.ref.resource_group, self.ref.name
        for source in self.sources():
            if (source.status or "Enabled") == "Enabled" and source.folder_path:
                found.extend(self.client.artifacts.list(rg, lab, str(source.name)))
        return found

    def resolve_artifact(self, request: ArtifactRequest, known: list[dtl.Artifact]) -> dtl.Artifact:
        wanted = request.artifact.lower()
        for artifact in known:
            if wanted in (str(artifact.id).lower(), str(artifact.name).lower(),
                          str(artifact.title).lower()):  # fmt: skip
                return artifact
        raise TaskError(
            f"artifacts: the lab has no artifact '{request.artifact}' in its repositories "
            f"(for example: {', '.join(sorted(str(a.name) for a in known)[:8]) or 'none'})."
        )

    # --- custom images and formulas --------------------------------------------------------
    def custom_images(self) -> list[dtl.CustomImage]:
        rg, lab = self.ref.resource_group, self.ref.name
        return list(self.client.custom_images.list(rg, lab))

    def formulas(self) -> list[dtl.Formula]:
        rg, lab = self.ref.resource_group, self.ref.name
        return list(self.client.formulas.list(rg, lab))

    # --- environments and VMs ----------------------------------------------------------
    def environments(self) -> list[dtl.DtlEnvironment]:
        """Everyone's environments (`@all`): a name is looked up whoever created it."""
        rg, lab = self.ref.resource_group, self.ref.name
        return list(self.client.environments.list(rg, lab, "@all"))

    def environments_named(self, name: str) -> list[dtl.DtlEnvironment]:
        return [e for e in self.environments() if str(e.name).lower() == name.lower()]

    def lab_vms(self) -> list[dtl.LabVirtualMachine]:
        rg, lab = self.ref.resource_group, self.ref.name
        return list(self.client.virtual_machines.list(rg, lab, expand=ARTIFACT_EXPAND))

    def lab_vm(self, name: str) -> dtl.LabVirtualMachine | None:
        rg, lab = self.ref.resource_group, self.ref.name
        try:
            return self.client.virtual_machines.get(rg, lab, name, expand=ARTIFACT_EXPAND)
        except ResourceNotFoundError:
            return None

    # --- plain ARM ---------------------------------------------------------------------
    def get(self, resource_id: str, api_version: str) -> Any:
        try:
            return self.arm.request("GET", resource_id, api_version)
        except HttpResponseError as error:
            if error.status_code == 404:
                return None
            raise


def user_of(environment_id: str) -> str:
    """The `users/{id}` segment of an environment id (its owner)."""
    parts = environment_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("users") + 1] if "users" in lowered else "@me"
