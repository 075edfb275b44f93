"""DeployVmApp's inputs, read and checked before anything touches Azure."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pytask.agent import Check, TaskContext, TaskError
from pytask.tasks.deploy.state import RollbackState
from pytask.tasks.resource_ids import parse_vm_targets


@dataclass(frozen=True)
class Amount:
    """A count (`5`) or a percentage (`20%`) of some total."""

    value: float
    percent: bool

    def of(self, total: int, *, at_least: int = 0) -> int:
        if not self.percent:
            return max(at_least, int(self.value))
        # Batches round up (20% of 3 instances is one instance); budgets round down.
        raw = total * self.value / 100
        return max(at_least, math.ceil(raw) if at_least else math.floor(raw + 1e-9))

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else str(int(self.value))


def parse_amount(text: str, *, minimum: int) -> Amount:
    text = text.strip()
    if text.endswith("%"):
        number = float(text[:-1])
        if not minimum <= number <= 100 or (minimum and number == 0):
            raise ValueError(text)
        return Amount(number, True)
    if not text.isdigit() or int(text) < minimum:
        raise ValueError(text)
    return Amount(int(text), False)


def parse_batch(text: str) -> Amount:
    return parse_amount(text, minimum=1)


def parse_failures(text: str) -> Amount:
    return parse_amount(text, minimum=0)


def parse_tag_filter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(text)
    return key.strip(), value.strip()


_VERSION_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/galleries/[^/]+"
    r"/applications/[^/]+/versions/[^/]+/?$",
    re.IGNORECASE,
)


def version_id(text: str) -> str:
    # Checked with the other inputs: a malformed id would otherwise surface as a missing
    # application after the first reads.
    if not _VERSION_ID.match(text.strip()):
        raise ValueError(text)
    return text.strip()


def https_url(text: str) -> str:
    # ComputeRP takes any string here, and a non-URL only fails later on each VM's agent, after
    # the writes; a SAS query is allowed because the agent downloads the blob with it.
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in text):
        raise ValueError(text)
    return text


CHECKS: tuple[Check[Any], ...] = (
    Check("batchSize", parse_batch, "a whole number of at least 1 or a percentage like 20%"),
    Check("maxFailures", parse_failures, "a whole number or a percentage like 10%"),
    Check("tagFilter", parse_tag_filter, "key=value"),
    Check("rollbackState", RollbackState.parse, "the JSON a deploy step output as rollbackState"),
    Check("configurationReference", https_url, "an https URL of a blob (a SAS query is allowed)"),
    Check(
        "applicationVersionId",
        version_id,
        "a gallery application version id (/subscriptions/SUBSCRIPTION/resourceGroups/GROUP/"
        "providers/Microsoft.Compute/galleries/GALLERY/applications/APP/versions/VERSION)",
    ),
)


@dataclass(frozen=True)
class VersionRef:
    """Either a version id, or gallery + application (+ version, `latest` allowed)."""

    version_id: str | None
    gallery_group: str | None
    gallery: str | None
    application: str | None
    version: str | None


@dataclass(frozen=True)
class DeploySpec:
    action: str
    targets: list[str]
    resource_group: str | None
    tag_filter: tuple[str, str] | None
    version: VersionRef
    rollback_state: RollbackState | None
    strategy: str
    batch: Amount
    max_failures: Amount
    pause_seconds: int
    rollback_on_failure: bool
    order: int | None
    configuration_reference: str | None
    treat_failure: bool
    automatic_upgrade: bool
    tags: str | None
    timeout_minutes: int


def read_spec(ctx: TaskContext) -> DeploySpec:
    inputs = ctx.inputs
    action = inputs.pick("action") or "deploy"
    spec = DeploySpec(
        action=action,
        targets=(
            parse_vm_targets(inputs.lines("targets"), inputs.definition.input("targets").display)
            if action != "rollback"
            else []
        ),
        resource_group=inputs.optional_string("resourceGroup") if action != "rollback" else None,
        tag_filter=inputs.value(CHECKS[2]) if action != "rollback" else None,
        version=VersionRef(
            inputs.optional_string("applicationVersionId"),
            inputs.optional_string("galleryResourceGroup"),
            inputs.optional_string("galleryName"),
            inputs.optional_string("applicationName"),
            inputs.optional_string("version") if action == "deploy" else None,
        ),
        rollback_state=inputs.value(CHECKS[3]) if action == "rollback" else None,
        strategy=inputs.pick("strategy") or "batched",
        batch=inputs.value(CHECKS[0]) or Amount(20, True),
        max_failures=inputs.value(CHECKS[1]) or Amount(0, False),
        pause_seconds=inputs.optional_integer("pauseBetweenBatchesSeconds", minimum=0) or 0,
        rollback_on_failure=inputs.boolean("rollbackOnFailure"),
        order=inputs.optional_integer("order", minimum=0) if action == "deploy" else None,
        configuration_reference=inputs.value(CHECKS[4]) if action == "deploy" else None,
        treat_failure=inputs.boolean("treatFailureAsDeploymentFailure"),
        automatic_upgrade=inputs.boolean("enableAutomaticUpgrade"),
        tags=inputs.optional_string("tags"),
        timeout_minutes=inputs.optional_integer("timeoutMinutes", minimum=1) or 60,
    )
    check_combinations(spec)
    return spec


def check_combinations(spec: DeploySpec) -> None:
    """Rules that span several inputs; all problems at once."""
    problems: list[str] = []
    if spec.action == "rollback":
        if spec.rollback_state is None:
            problems.append(
                "Action 'rollback' needs 'rollbackState': the rollbackState output of the "
                "deploy step to undo."
            )
    else:
        if not spec.targets and not spec.resource_group:
            problems.append("Name the targets: 'targets' (resource ids) or 'resourceGroup'.")
        if spec.targets and spec.resource_group:
            problems.append("Use either 'targets' or 'resourceGroup', not both.")
        if spec.tag_filter and not spec.resource_group:
            problems.append("'tagFilter' narrows 'resourceGroup'; set 'resourceGroup' too.")
        ref = spec.version
        parts = (ref.gallery_group, ref.gallery, ref.application)
        if ref.version_id and any(parts):
            problems.append(
                "Use either 'applicationVersionId' or gallery, application and version, not both."
            )
        elif not ref.version_id and not all(parts):
            problems.append(
                "Name the application: 'applicationVersionId', or 'galleryResourceGroup', "
                "'galleryName' and 'applicationName'."
            )
        if spec.action == "deploy" and not ref.version_id and all(parts) and not ref.version:
            problems.append("Name the version to deploy: 'version' (or 'latest').")
    if problems:
        raise TaskError(" ".join(problems))
