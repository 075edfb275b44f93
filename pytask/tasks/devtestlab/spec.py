"""DevTestLabEnv's inputs as one checked spec, with per-input rules (`CHECKS`) the runner
reports together before the task starts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytask.agent import Check, InputErrors, TaskContext
from pytask.tasks.devtestlab import yamlcore

MAX_VMS = 50
MAX_HOURS = 24 * 365
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
_LAB_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.DevTestLab/labs/(?P<lab>[^/]+)/?$",
    re.IGNORECASE,
)
_LAB_NAME = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_VM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,61}$")
_IMAGE = re.compile(r"^[^:\s]+:[^:\s]+:[^:\s]+(?::[^:\s]+)?$")
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")


@dataclass(frozen=True)
class LabRef:
    resource_group: str
    name: str
    subscription: str | None = None

    @property
    def display(self) -> str:
        return f"{self.name} (resource group {self.resource_group})"


@dataclass(frozen=True)
class ImageRef:
    publisher: str
    offer: str
    sku: str
    version: str

    @property
    def os_type(self) -> str:
        return "Windows" if "windows" in (self.publisher + self.offer).lower() else "Linux"


@dataclass(frozen=True)
class ArtifactRequest:
    artifact: str  # a name, a title or a full id
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VmSpec:
    count: int
    image: ImageRef | None  # a gallery image; None: `image_name` names a custom image or formula
    image_name: str
    size: str | None  # None: from the formula
    user_name: str | None
    password: str | None
    ssh_key: str | None
    artifacts: tuple[ArtifactRequest, ...]
    allow_claim: bool
    subnet: str | None


@dataclass(frozen=True)
class EnvSpec:
    source: str
    template: str
    parameters: dict[str, Any]
    parameters_file: Path | None


@dataclass(frozen=True)
class DtlSpec:
    action: str
    kind: str
    lab: LabRef
    name: str
    env: EnvSpec | None
    vm: VmSpec | None
    expires_in_hours: int
    tags: dict[str, str]
    if_exists: str
    cleanup_on_failure: bool
    older_than_hours: int | None
    dry_run: bool
    timeout_minutes: int


# --- per-input rules -----------------------------------------------------------------------
def lab_reference(text: str) -> str:
    if not (_LAB_ID.match(text) or _LAB_NAME.match(text)):
        raise ValueError(text)
    return text


def yaml_object(text: str) -> dict[str, Any]:
    """A YAML or JSON object (JSON is YAML); values keep their types."""
    try:
        data = yamlcore.load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from error
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValueError(text)
    return data


def tag_object(text: str) -> dict[str, str]:
    data = yaml_object(text)
    tags: dict[str, str] = {}
    for key, value in data.items():
        if not key or len(key) > 512 or _TAG_NAME_FORBIDDEN.search(key):
            raise ValueError(key)
        if isinstance(value, (dict, list)) or value is None or len(str(value)) > 256:
            raise ValueError(key)
        tags[key] = str(value).lower() if isinstance(value, bool) else str(value)
    if len(tags) > 40:
        raise ValueError(text)
    return tags


def image_choice(text: str) -> ImageRef | str:
    """A gallery image reference, or the name or id of a lab custom image or formula."""
    if _IMAGE.match(text):
        return image_reference(text)
    if ":" in text or "\n" in text or len(text) > 1024:
        raise ValueError(text)
    return text


def image_reference(text: str) -> ImageRef:
    if not _IMAGE.match(text):
        raise ValueError(text)
    parts = text.split(":")
    return ImageRef(parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else "latest")


def artifact_list(text: str) -> tuple[ArtifactRequest, ...]:
    try:
        data = yamlcore.load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from error
    if not isinstance(data, list):
        raise ValueError(text)
    found: list[ArtifactRequest] = []
    for item in data:
        if isinstance(item, str) and item.strip():
            found.append(ArtifactRequest(item.strip()))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("artifact"), str):
            raise ValueError(text)
        params = item.get("parameters") or {}
        if not isinstance(params, dict) or set(item) - {"artifact", "parameters"}:
            raise ValueError(text)
        values = {str(k): _artifact_value(v) for k, v in params.items()}
        found.append(ArtifactRequest(item["artifact"].strip(), values))
    return tuple(found)


def _artifact_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError(str(value))
    return str(value)


def bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        number = int(text)
        if not low <= number <= high:
            raise ValueError(text)
        return number

    return parse


LAB = Check(
    "lab",
    lab_reference,
    "a lab name, or a lab resource id "
    "(/subscriptions/.../resourceGroups/.../providers/Microsoft.DevTestLab/labs/NAME)",
)
PARAMETERS = Check("parameters", yaml_object, "a YAML or JSON object of template parameters")
TAGS = Check(
    "tags",
    tag_object,
    "a YAML or JSON object of tag names (no <>%&\\?/) to values (at most 256 characters)",
)
IMAGE = Check(
    "image",
    image_choice,
    "a gallery image reference publisher:offer:sku[:version], or a custom image or formula of "
    "the lab (name or id)",
)
ARTIFACTS = Check(
    "artifacts",
    artifact_list,
    "a YAML list of artifacts, each a name or {artifact: NAME, parameters: {name: value}}",
)
CHECKS: tuple[Check[object], ...] = (
    LAB,
    PARAMETERS,
    TAGS,
    IMAGE,
    ARTIFACTS,
    Check("vmCount", bounded(1, MAX_VMS), f"a whole number from 1 to {MAX_VMS}"),
    Check("expiresInHours", bounded(1, MAX_HOURS), f"a whole number of hours, 1 to {MAX_HOURS}"),
    Check("olderThanHours", bounded(0, MAX_HOURS), f"a whole number of hours, 0 to {MAX_HOURS}"),
    Check(
        "timeoutMinutes",
        bounded(1, MAX_TIMEOUT_MINUTES),
        f"a whole number of minutes from 1 to {MAX_TIMEOUT_MINUTES}",
    ),
)


# --- the spec --------------------------------------------------------------------------------
def _label(ctx: TaskContext, name: str) -> str:
    return f"{ctx.definition.input(name).label} ({name})"


def read_spec(ctx: TaskContext) -> DtlSpec:
    """The checked spec; InputErrors lists every problem at once (nothing has been written)."""
    inputs = ctx.inputs
    action, kind = inputs.pick("action"), inputs.pick("kind")
    problems: list[str] = []
    lab = _lab(ctx, problems)
    name = inputs.get("name")
    if action != "sweep":
        pattern = _ENV_NAME if kind == "environment" else _VM_NAME
        if not name:
            problems.append(f"{_label(ctx, 'name')}: required to {action} an {kind}.")
        elif not pattern.match(name) and not (action == "delete" and name.startswith("/")):
            problems.append(
                f"{_label(ctx, 'name')}: '{name}' is not a valid {kind} name (letters, digits "
                f"and '-'{', _' if kind == 'environment' else ''}; it must start with a letter "
                "or digit; at most 63 characters)."
            )
    env = _env(ctx, problems) if action == "create" and kind == "environment" else None
    vm = _vm(ctx, problems, name) if action == "create" and kind == "vm" else None
    if problems:
        raise InputErrors(problems)
    assert lab is not None
    return DtlSpec(
        action=action,
        kind=kind,
        lab=lab,
        name=name,
        env=env,
        vm=vm,
        expires_in_hours=_int(ctx, "expiresInHours") or 24,
        tags=inputs.value(TAGS) or {},
        if_exists=inputs.pick("ifExists") or "reuse",
        cleanup_on_failure=inputs.boolean("cleanupOnFailure"),
        older_than_hours=_int(ctx, "olderThanHours"),
        dry_run=inputs.boolean("dryRun"),
        timeout_minutes=_int(ctx, "timeoutMinutes") or 60,
    )


def _int(ctx: TaskContext, name: str) -> int | None:
    text = ctx.inputs.get(name)
    return int(text) if text else None


def _lab(ctx: TaskContext, problems: list[str]) -> LabRef | None:
    text = ctx.inputs.get("lab")
    group = ctx.inputs.get("labResourceGroup")
    match = _LAB_ID.match(text)
    if match:
        return LabRef(match["rg"], match["lab"], match["sub"])
    if not group:
        problems.append(
            f"{_label(ctx, 'labResourceGroup')}: required when {_label(ctx, 'lab')} is a lab "
            "name rather than a resource id."
        )
        return None
    return LabRef(group, text)


def _env(ctx: TaskContext, problems: list[str]) -> EnvSpec | None:
    inputs = ctx.inputs
    template = inputs.get("template")
    if not template:
        problems.append(f"{_label(ctx, 'template')}: required to create an environment.")
    source = inputs.get("artifactSource") or "Public Environment Repository"
    path = inputs.path("parametersFile")
    if path is not None and not path.is_file():
        problems.append(f"{_label(ctx, 'parametersFile')}: {path} is not a file.")
        path = None
    given = inputs.value(PARAMETERS) if inputs.get("parameters") else None
    if problems:
        return None
    return EnvSpec(source, template, dict(given or {}), path)


def _vm(ctx: TaskContext, problems: list[str], name: str) -> VmSpec | None:
    inputs = ctx.inputs
    if not inputs.get("image"):
        problems.append(f"{_label(ctx, 'image')}: required to create lab VMs.")
    password, ssh_key = inputs.get("password"), inputs.get("sshKey")
    for secret in (password, ssh_key):
        if secret:
            ctx.add_secret(secret)
    if not password and not ssh_key:
        problems.append(
            f"{_label(ctx, 'password')} or {_label(ctx, 'sshKey')}: give one of them (as a "
            "secret variable) for the VMs' administrator."
        )
    count = _int(ctx, "vmCount") or 1
    longest = name if count == 1 else f"{name}-{count}"
    if name and len(longest) > 62:
        problems.append(f"{_label(ctx, 'name')}: '{longest}' would be longer than 62 characters.")
    if problems:
        return None
    image = inputs.value(IMAGE)
    assert image is not None
    artifacts = inputs.value(ARTIFACTS) if inputs.get("artifacts") else ()
    return VmSpec(
        count=count,
        image=image if isinstance(image, ImageRef) else None,
        image_name=inputs.get("image"),
        size=inputs.get("size") or None,
        user_name=inputs.get("userName") or None,
        password=password or None,
        ssh_key=ssh_key or None,
        artifacts=tuple(artifacts or ()),
        allow_claim=inputs.boolean("allowClaim"),
        subnet=inputs.get("subnet") or None,
    )


def vm_names(name: str, count: int) -> list[str]:
    """The lab VM names a create makes: the name itself, or `name-1` ... `name-N`."""
    return [name] if count == 1 else [f"{name}-{i}" for i in range(1, count + 1)]
