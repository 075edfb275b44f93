"""Lab virtual machines: artifacts and network checked first, VMs created together and waited
for (artifacts included, reported one by one), outputs from each VM's `computeId`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.mgmt.devtestlabs import models as dtl

from pytask.agent import TaskContext, TaskError
from pytask.tasks.devtestlab.lab import Lab
from pytask.tasks.devtestlab.report import Outcome
from pytask.tasks.devtestlab.spec import DtlSpec, VmSpec, vm_names
from pytask.tasks.devtestlab.waiting import Deadline, wait_all

TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class ImageChoice:
    """What the VMs are made from: a gallery image or a lab custom image, and, when the
    `image` input named a formula, the formula's size, user and artifacts."""

    gallery: dtl.GalleryImageReference | None
    custom_image_id: str | None
    os_type: str
    size: str | None = None
    user_name: str | None = None
    artifacts: tuple[dtl.ArtifactInstallProperties, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class PreparedVms:
    names: list[str]
    artifacts: list[dtl.ArtifactInstallProperties]
    network_id: str | None
    subnet: str | None
    image: ImageChoice
    size: str
    user_name: str


def resolve_image(lab: Lab, vm: VmSpec) -> ImageChoice:
    if vm.image is not None:
        gallery = dtl.GalleryImageReference(
            offer=vm.image.offer, publisher=vm.image.publisher, sku=vm.image.sku,
            os_type=vm.image.os_type, version=vm.image.version,
        )  # fmt: skip
        return ImageChoice(gallery, None, vm.image.os_type, source="gallery image")
    wanted = vm.image_name.rstrip("/").lower()
    images = lab.custom_images()
    for image in images:
        if wanted in (str(image.id).lower(), str(image.name).lower()):
            return ImageChoice(None, str(image.id), _image_os(image), source="custom image")
    formulas = lab.formulas()
    for formula in formulas:
        if wanted in (str(formula.id).lower(), str(formula.name).lower()):
            return _from_formula(formula)
    raise TaskError(
        f"image: '{vm.image_name}' is neither a gallery image reference "
        "(publisher:offer:sku[:version]) nor a custom image or formula of the lab (custom "
        f"images: {', '.join(str(i.name) for i in images) or 'none'}; formulas: "
        f"{', '.join(str(f.name) for f in formulas) or 'none'})."
    )


def _image_os(image: dtl.CustomImage) -> str:
    if image.vm is not None and image.vm.windows_os_info is not None:
        return "Windows"
    if image.vhd is not None and image.vhd.os_type:
        return str(image.vhd.os_type)
    return "Linux"


def _from_formula(formula: dtl.Formula) -> ImageChoice:
    content = formula.formula_content
    if content is None:
        raise TaskError(f"image: formula '{formula.name}' has no content.")
    return ImageChoice(
        gallery=content.gallery_image_reference,
        custom_image_id=content.custom_image_id,
        os_type=str(formula.os_type or "Linux"),
        size=content.size,
        user_name=content.user_name,
        artifacts=tuple(content.artifacts or ()),
        source=f"formula {formula.name}",
    )


def prepare(ctx: TaskContext, lab: Lab, spec: DtlSpec) -> PreparedVms:
    """Image (or formula), artifacts (names, parameters, OS) and the subnet checked; nothing
    written."""
    vm = spec.vm
    assert vm is not None
    image = resolve_image(lab, vm)
    ctx.log(f"Image: {vm.image_name} ({image.source}, {image.os_type})")
    known = lab.artifacts() if vm.artifacts else []
    problems: list[str] = []
    size, user = vm.size or image.size, vm.user_name or image.user_name
    for value, name in ((size, "size"), (user, "userName")):
        if not value:
            problems.append(f"{name}: required (the image is not a formula that sets it)")
    installs: list[dtl.ArtifactInstallProperties] = list(image.artifacts)
    for request in vm.artifacts:
        artifact = lab.resolve_artifact(request, known)
        problems.extend(_artifact_problems(artifact, request.parameters, image.os_type))
        installs.append(
            dtl.ArtifactInstallProperties(
                artifact_id=artifact.id,
                parameters=[
                    dtl.ArtifactParameterProperties(name=k, value=v)
                    for k, v in request.parameters.items()
                ],
            )
        )
        ctx.log(f"Artifact: {artifact.title} ({artifact.name})")
    network_id, subnet = _subnet(lab, vm.subnet, problems)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise TaskError(f"The lab VMs cannot be created as asked; nothing was created:\n{listing}")
    assert size is not None and user is not None
    names = vm_names(spec.name, vm.count)
    return PreparedVms(names, installs, network_id, subnet, image, size, user)


def _artifact_problems(artifact: dtl.Artifact, given: dict[str, str], os_type: str) -> list[str]:
    definitions: dict[str, Any] = dict(artifact.parameters or {})
    problems = [
        f"artifact '{artifact.name}': '{name}' is not one of its parameters "
        f"({', '.join(definitions) or 'it has none'})"
        for name in given
        if name not in definitions
    ]
    for name, definition in definitions.items():
        value = given.get(name, definition.get("defaultValue"))
        if value is None:
            problems.append(f"artifact '{artifact.name}': parameter '{name}' is required")
        elif definition.get("allowedValues") and value not in definition["allowedValues"]:
            problems.append(
                f"artifact '{artifact.name}': '{name}' must be one of "
                f"{', '.join(map(str, definition['allowedValues']))}; got '{value}'"
            )
    target = str(artifact.target_os_type or "")
    if target and target.lower() != os_type.lower():
        problems.append(f"artifact '{artifact.name}' is for {target} and the image is {os_type}")
    return problems


def _subnet(lab: Lab, wanted: str | None, problems: list[str]) -> tuple[str | None, str | None]:
    if not wanted:
        return None, None
    rg, name = lab.ref.resource_group, lab.ref.name
    for network in lab.client.virtual_networks.list(rg, name):
        for override in network.subnet_overrides or []:
            if wanted.lower() in (
                str(override.lab_subnet_name).lower(),
                str(override.resource_id).lower(),
            ):
                return str(network.id), str(override.lab_subnet_name)
    problems.append(f"subnet: the lab has no subnet '{wanted}'")
    return None, None


# --- create ---------------------------------------------------------------------------------
def create(
    ctx: TaskContext,
    lab: Lab,
    spec: DtlSpec,
    prepared: PreparedVms,
    tags: dict[str, str],
    deadline: Deadline,
) -> Outcome:
    existing: dict[str, dtl.LabVirtualMachine | None] = {
        n: vm for n in prepared.names if (vm := lab.lab_vm(n)) is not None
    }
    action = "created"
    if existing:
        if spec.if_exists == "fail":
            raise TaskError(
                f"Lab VM(s) {', '.join(existing)} already exist and ifExists is 'fail'. Choose "
                "another name, or set ifExists to reuse or recreate."
            )
        existing = {n: _settled(ctx, lab, n, deadline) for n in existing}
        if spec.if_exists == "recreate":
            delete_names(ctx, lab, list(existing), deadline)
            action = "recreated"
        else:
            broken = [n for n, vm in existing.items() if not _healthy(vm)]
            if broken:
                raise TaskError(
                    f"Lab VM(s) {', '.join(broken)} exist but failed; they cannot be reused. "
                    "Set ifExists: recreate, or delete them first."
                )
            action = "reused"
    missing = [n for n in prepared.names if action != "reused" or n not in existing]
    if missing:
        _submit(ctx, lab, spec, prepared, missing, tags, deadline)
        action = "created" if action == "reused" and len(missing) == len(prepared.names) else action
    else:
        ctx.log("Every lab VM exists and is ready: reused, nothing created.")
    vms = [lab.lab_vm(n) for n in prepared.names]
    return outputs(ctx, [v for v in vms if v is not None], action, spec.name)


def _healthy(vm: dtl.LabVirtualMachine | None) -> bool:
    if vm is None or vm.provisioning_state != "Succeeded":
        return False
    return not any(a.status == "Failed" for a in vm.artifacts or [])


def _settled(
    ctx: TaskContext, lab: Lab, name: str, deadline: Deadline
) -> dtl.LabVirtualMachine | None:
    vm = lab.lab_vm(name)
    while vm is not None and vm.provisioning_state not in TERMINAL:
        if deadline.passed():
            raise deadline.expired(f"lab VM '{name}' ({vm.provisioning_state})")
        ctx.log(f"Lab VM '{name}' is {vm.provisioning_state}; waiting for it.")
        deadline.sleep(2.0)
        vm = lab.lab_vm(name)
    return vm


def _body(
    lab: Lab, vm: VmSpec, prepared: PreparedVms, tags: dict[str, str], expires_in_hours: int
) -> dtl.LabVirtualMachine:
    expiry = datetime.now(timezone.utc) + timedelta(hours=expires_in_hours)
    return dtl.LabVirtualMachine(
        location=lab.location,
        tags=tags,
        size=prepared.size,
        user_name=prepared.user_name,
        password=vm.password,
        ssh_key=vm.ssh_key,
        is_authentication_with_ssh_key=bool(vm.ssh_key) and not vm.password,
        gallery_image_reference=prepared.image.gallery,
        custom_image_id=prepared.image.custom_image_id,
        artifacts=prepared.artifacts or None,
        allow_claim=vm.allow_claim,
        expiration_date=expiry.replace(microsecond=0),
        lab_virtual_network_id=prepared.network_id,
        lab_subnet_name=prepared.subnet,
    )


def _submit(
    ctx: TaskContext,
    lab: Lab,
    spec: DtlSpec,
    prepared: PreparedVms,
    names: list[str],
    tags: dict[str, str],
    deadline: Deadline,
) -> None:
    assert spec.vm is not None
    body = _body(lab, spec.vm, prepared, tags, spec.expires_in_hours)
    rg, lab_name = lab.ref.resource_group, lab.ref.name
    pollers = {}
    for name in names:
        ctx.log(f"Creating lab VM '{name}' ({prepared.size}, {prepared.image.os_type})...")
        pollers[name] = lab.client.virtual_machines.begin_create_or_update(rg, lab_name, name, body)
    progress = _Progress(ctx, lab, names)
    errors = wait_all(pollers, deadline, "lab VMs", progress.tick, lambda n: _settled_now(lab, n))
    progress.tick()
    failures: list[str] = []
    for name in names:
        vm = lab.lab_vm(name)
        failures.extend(_failures(name, vm, errors.get(name)))
    if not failures:
        return
    for line in failures:
        ctx.error(line)
    if spec.cleanup_on_failure:
        ctx.log("Deleting the lab VMs this run created (cleanupOnFailure).")
        delete_names(ctx, lab, names, deadline)
    else:
        ctx.warning("The failed lab VMs were left in place (cleanupOnFailure: false).")
    raise TaskError(f"{len(failures)} problem(s) creating the lab VMs; see the errors above.")


def _settled_now(lab: Lab, name: str) -> bool:
    vm = lab.lab_vm(name)
    return vm is None or vm.provisioning_state in TERMINAL


def _failures(
    name: str, vm: dtl.LabVirtualMachine | None, error: BaseException | None
) -> list[str]:
    if vm is None:
        return [f"Lab VM '{name}': not created: {error or 'no details'}"]
    lines = [
        f"Lab VM '{name}': artifact '{a.artifact_title or a.artifact_id}' failed: "
        f"{a.deployment_status_message or a.vm_extension_status_message or 'no details'}"
        for a in vm.artifacts or []
        if a.status == "Failed"
    ]
    if vm.provisioning_state != "Succeeded" and not lines:
        lines.append(f"Lab VM '{name}': {vm.provisioning_state}: {error or 'no details'}")
    return lines


class _Progress:
    """One line per VM and artifact whenever its status changes."""

    def __init__(self, ctx: TaskContext, lab: Lab, names: list[str]) -> None:
        self.ctx, self.lab, self.names = ctx, lab, names
        self.seen: dict[str, str] = {}
        self.percent = -1

    def tick(self) -> None:
        finished = 0
        for name in self.names:
            vm = self.lab.lab_vm(name)
            if vm is None:
                continue
            self._note(name, f"Lab VM '{name}': {vm.provisioning_state}")
            finished += vm.provisioning_state in TERMINAL
            for artifact in vm.artifacts or []:
                key = f"{name}/{artifact.artifact_id}"
                self._note(key, f"  {name}: artifact '{artifact.artifact_title}': "
                                f"{artifact.status}")  # fmt: skip
        percent = int(100 * finished / max(1, len(self.names)))
        if percent != self.percent:
            self.percent = percent
            self.ctx.progress(percent, "lab VMs")

    def _note(self, key: str, line: str) -> None:
        if self.seen.get(key) != line:
            self.seen[key] = line
            self.ctx.log(line)


def outputs(ctx: TaskContext, vms: list[dtl.LabVirtualMachine], action: str, name: str) -> Outcome:
    outcome = Outcome(action=action, kind="vm", name=name)
    for vm in vms:
        outcome.lab_vm_ids.append(str(vm.id))
        if vm.compute_id:
            outcome.vm_ids.append(str(vm.compute_id))
        if vm.fqdn:
            outcome.fqdns.append(str(vm.fqdn))
        nic = vm.network_interface
        if nic is not None and nic.private_ip_address:
            outcome.private_ips.append(str(nic.private_ip_address))
        ctx.log(f"Lab VM {vm.name}: {vm.compute_id}")
    return outcome


# --- delete ---------------------------------------------------------------------------------
def delete_names(ctx: TaskContext, lab: Lab, names: list[str], deadline: Deadline) -> None:
    rg, lab_name = lab.ref.resource_group, lab.ref.name
    pollers = {}
    for name in names:
        ctx.log(f"Deleting lab VM '{name}'...")
        pollers[name] = lab.client.virtual_machines.begin_delete(rg, lab_name, name)
    errors = wait_all(
        pollers, deadline, "deletion of lab VMs", settled=lambda n: lab.lab_vm(n) is None
    )
    failed = {n: e for n, e in errors.items() if e is not None and _status(e) != 404}
    if failed:
        raise TaskError(
            "Deleting lab VMs failed: " + "; ".join(f"{n}: {e}" for n, e in failed.items())
        )
    ctx.log(f"Deleted: {', '.join(names)}")


def _status(error: BaseException) -> int | None:
    return getattr(error, "status_code", None)


def delete(ctx: TaskContext, lab: Lab, spec: DtlSpec, deadline: Deadline) -> Outcome:
    """The VM named (or given by id), and the `name-N` VMs a create with vmCount > 1 made."""
    if spec.name.startswith("/"):
        wanted = spec.name.rstrip("/").lower()
        found = [vm for vm in lab.lab_vms() if str(vm.id).lower() == wanted]
        return _delete_found(ctx, lab, found, spec.name.rstrip("/").rsplit("/", 1)[-1], deadline)
    numbered = re.compile(rf"^{re.escape(spec.name)}(-\d+)?$", re.IGNORECASE)
    found = [vm for vm in lab.lab_vms() if numbered.match(str(vm.name))]
    return _delete_found(ctx, lab, found, spec.name, deadline)


def _delete_found(
    ctx: TaskContext,
    lab: Lab,
    found: list[dtl.LabVirtualMachine],
    display: str,
    deadline: Deadline,
) -> Outcome:
    if not found:
        ctx.log(f"Lab VM '{display}' does not exist: nothing to delete.")
        return Outcome("already gone", "vm", display)
    delete_names(ctx, lab, [str(vm.name) for vm in found], deadline)
    outcome = Outcome("deleted", "vm", display)
    outcome.lab_vm_ids = [str(vm.id) for vm in found]
    return outcome
