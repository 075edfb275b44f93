"""What PublishVmApp tells the pipeline when it is done: output variables and the summary."""

from __future__ import annotations

from dataclasses import dataclass

from pytask.agent import TaskContext
from pytask.tasks.publish.replication import Replication


@dataclass(frozen=True)
class Outcome:
    version_id: str
    blob_url: str  # without SAS
    sha256: str
    replication: Replication
    action: str  # what happened to the version: created, replaced, unchanged
    upload: str  # what happened to the blob: uploaded, reused, given
    portal_link: str | None
    application: str
    version: str
    os_type: str


def publish_outputs(ctx: TaskContext, outcome: Outcome) -> None:
    ctx.set_output("applicationVersionId", outcome.version_id)
    ctx.set_output("packageBlobUrl", outcome.blob_url)
    ctx.set_output("packageSha256", outcome.sha256)
    ctx.set_output("replicationState", outcome.replication.output_state)


def write_summary(ctx: TaskContext, outcome: Outcome) -> None:
    summary = ctx.summary
    summary.heading(f"VM application {outcome.application} {outcome.version}")
    verb = {
        "created": "Published a new version",
        "replaced": "Replaced the existing version",
        "unchanged": "The version already existed with the same package; nothing was written",
    }[outcome.action]
    summary.paragraph(verb + ".")
    summary.key_values(
        [
            ("Version id", outcome.version_id),
            ("OS type", outcome.os_type or "(unknown)"),
            ("Package blob", outcome.blob_url),
            ("Package SHA-256", outcome.sha256),
            ("Package upload", outcome.upload),
            ("Replication", outcome.replication.output_state),
        ]
    )
    if outcome.replication.regions:
        summary.table(
            ("Region", "State", "Progress", "Details"),
            [
                (r.region, r.state, f"{r.progress}%", r.details or "")
                for r in outcome.replication.regions
            ],
        )
    if outcome.portal_link:
        summary.paragraph(f"[Open the version in the Azure portal]({outcome.portal_link})")
