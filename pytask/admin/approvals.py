"""`pytask approvals list|approve|reject`: pending pipeline approvals, each shown with the
verdict of the health gate in the stage before the one it holds.

The azure-devops 7.1 client has no approvals client, so those calls go through its generic
request machinery (same authentication, TLS and error handling); the verdict comes from the
run's build timeline: the approval's checkpoint record sits under the stage it holds, and the
HealthGate task record of the stage before carries the task's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.devops.connection import Connection

from pytask.admin.rest import RestClient

VERDICTS = {
    "succeeded": "Succeeded",
    "failed": "Failed",
    "succeededwithissues": "Inconclusive",
    "canceled": "Canceled",
}


@dataclass(frozen=True)
class PendingApproval:
    id: str
    pipeline: str
    run: str
    stage: str
    previous_stage: str
    gate_verdict: str
    instructions: str


@dataclass
class Approvals:
    connection: Connection
    project: str

    def __post_init__(self) -> None:
        self.rest = RestClient(self.connection.base_url, self.connection._creds)
        self.builds = self.connection.clients_v7_1.get_build_client()

    def pending(self) -> list[PendingApproval]:
        found = self.rest.call(
            "GET",
            f"{self.project}/_apis/pipelines/approvals",
            {"state": "pending", "$expand": "steps"},
        )
        return [self._describe(doc) for doc in (found or {}).get("value", [])]

    def respond(self, approval_id: str, status: str, comment: str) -> dict[str, Any]:
        body = [{"approvalId": approval_id, "status": status, "comment": comment}]
        answer = self.rest.call("PATCH", f"{self.project}/_apis/pipelines/approvals", {}, body)
        updated: dict[str, Any] = answer["value"][0]
        return updated

    def _describe(self, doc: dict[str, Any]) -> PendingApproval:
        pipeline = doc.get("pipeline") or {}
        owner = pipeline.get("owner") or {}
        stage, previous, verdict = "?", "", "no gate"
        if owner.get("id"):
            records = self.builds.get_build_timeline(self.project, int(owner["id"])).records
            stage, previous, verdict = _gate_before(records or [], doc["id"])
        return PendingApproval(
            id=doc["id"],
            pipeline=str(pipeline.get("name", "")),
            run=str(owner.get("name", "")),
            stage=stage,
            previous_stage=previous,
            gate_verdict=verdict,
            instructions=str(doc.get("instructions") or ""),
        )


def _gate_before(records: list[Any], approval_id: str) -> tuple[str, str, str]:
    """(stage held, stage before it, that stage's HealthGate verdict) from a timeline."""
    by_id = {str(r.id).lower(): r for r in records}
    stage = by_id.get(approval_id.lower())
    while stage is not None and stage.type != "Stage":
        stage = by_id.get(str(stage.parent_id).lower()) if stage.parent_id else None
    if stage is None:
        return "?", "", "no gate"
    stages = sorted((r for r in records if r.type == "Stage"), key=lambda r: r.order or 0)
    earlier = [s for s in stages if (s.order or 0) < (stage.order or 0)]
    if not earlier:
        return stage.name, "", "no gate"
    before = earlier[-1]
    gates = [r for r in records if _is_gate(r) and _stage_of(r, by_id) is before]
    if not gates:
        return stage.name, before.name, "no gate"
    return stage.name, before.name, VERDICTS.get(str(gates[-1].result).lower(), "running")


def _is_gate(record: Any) -> bool:
    return record.type == "Task" and getattr(record.task, "name", "") == "HealthGate"


def _stage_of(record: Any, by_id: dict[str, Any]) -> Any:
    current = record
    while current is not None and current.type != "Stage":
        current = by_id.get(str(current.parent_id).lower()) if current.parent_id else None
    return current
