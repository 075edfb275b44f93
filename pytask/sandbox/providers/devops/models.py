"""State of the sandbox's Azure DevOps organization (no HTTP): users and their PATs,
environments, check configurations, approvals and the build timelines they sit in."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pytask.sandbox.core import World, issued

NAMESPACE = "AzureDevOps"
APPROVAL_CHECK = {"id": "8c6f20a7-a545-4486-9777-f762fafe0d4d", "name": "Approval"}
BUILD_SERVICE = "Project Collection Build Service"


class DevOpsError(Exception):
    """An error the service answers with its own JSON shape."""

    def __init__(self, status: int, type_key: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type_key, self.message = status, type_key, message


def initial_state() -> dict[str, Any]:
    return {
        "users": [],
        "environments": [],
        "nextEnvironmentId": 1,
        "checks": [],
        "nextCheckId": 1,
        "approvals": [],
        "timelines": {},
    }


def state(world: World) -> dict[str, Any]:
    value: dict[str, Any] = world.state.setdefault(NAMESPACE, initial_state())
    return value


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ users


def add_user(world: World, name: str, email: str, pat: str | None = None) -> dict[str, Any]:
    users = state(world)["users"]
    found = next((u for u in users if u["uniqueName"].lower() == email.lower()), None)
    if found is None:
        found = {"id": str(uuid.uuid4()), "displayName": name, "uniqueName": email, "pats": []}
        users.append(found)
    if pat and pat not in found["pats"]:
        found["pats"].append(pat)
        issued.record("devops-pat", pat)  # the suite's secret scan (core/issued.py)
    world.touch()
    return found


def user_by_pat(world: World, pat: str) -> dict[str, Any] | None:
    return next((u for u in state(world)["users"] if pat in u["pats"]), None)


def user_by_id(world: World, user_id: str) -> dict[str, Any] | None:
    return next((u for u in state(world)["users"] if u["id"] == user_id), None)


def identity_ref(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "displayName": user["displayName"],
        "id": user["id"],
        "uniqueName": user["uniqueName"],
        "descriptor": f"aad.{user['id']}",
    }


def search_identities(world: World, value: str) -> list[dict[str, Any]]:
    wanted = value.strip().lower()
    return [
        u
        for u in state(world)["users"]
        if wanted in (u["uniqueName"].lower(), u["displayName"].lower(), u["id"].lower())
    ]


# ------------------------------------------------------------------ environments


def environments(world: World) -> list[dict[str, Any]]:
    return list(state(world)["environments"])


def add_environment(
    world: World, project: dict[str, str], name: str, description: str, caller: dict[str, Any]
) -> dict[str, Any]:
    if any(e["name"].lower() == name.lower() for e in state(world)["environments"]):
        raise DevOpsError(
            409,
            "EnvironmentExistsException",
            f"Environment with name '{name}' already exists. Choose a different name.",
        )
    doc = {
        "id": state(world)["nextEnvironmentId"],
        "name": name,
        "description": description,
        "createdBy": identity_ref(caller),
        "createdOn": now_iso(),
        "lastModifiedBy": identity_ref(caller),
        "lastModifiedOn": now_iso(),
        "project": project,
        "resources": [],
    }
    state(world)["nextEnvironmentId"] += 1
    state(world)["environments"].append(doc)
    world.touch()
    return doc


def environment(world: World, environment_id: int) -> dict[str, Any]:
    found: dict[str, Any] | None = next(
        (e for e in state(world)["environments"] if e["id"] == environment_id), None
    )
    if found is None:
        raise DevOpsError(
            404,
            "EnvironmentNotFoundException",
            f"Environment with ID {environment_id} does not exist or you do not have access.",
        )
    return found


def delete_environment(world: World, environment_id: int) -> None:
    state(world)["environments"].remove(environment(world, environment_id))
    state(world)["checks"] = [
        c
        for c in state(world)["checks"]
        if not (
            c["resource"]["type"] == "environment" and c["resource"]["id"] == str(environment_id)
        )
    ]
    world.touch()


# ------------------------------------------------------------------ checks


def add_check(world: World, body: dict[str, Any], caller: dict[str, Any]) -> dict[str, Any]:
    resource = body.get("resource") or {}
    if resource.get("type") == "environment":
        environment(world, int(resource.get("id") or 0))
    doc = {
        "settings": body.get("settings") or {},
        "createdBy": identity_ref(caller),
        "createdOn": now_iso(),
        "modifiedBy": identity_ref(caller),
        "modifiedOn": now_iso(),
        "timeout": int(body.get("timeout") or 43200),
        "id": state(world)["nextCheckId"],
        "type": body.get("type") or {},
        "resource": {k: str(v) for k, v in resource.items()},
    }
    state(world)["nextCheckId"] += 1
    state(world)["checks"].append(doc)
    world.touch()
    return doc


def checks_on(world: World, resource_type: str | None, resource_id: str | None) -> list[Any]:
    return [
        c
        for c in state(world)["checks"]
        if (resource_type is None or c["resource"].get("type", "").lower() == resource_type.lower())
        and (resource_id is None or c["resource"].get("id") == resource_id)
    ]


def check(world: World, check_id: int) -> dict[str, Any]:
    found: dict[str, Any] | None = next(
        (c for c in state(world)["checks"] if c["id"] == check_id), None
    )
    if found is None:
        raise DevOpsError(
            404, "CheckConfigurationNotFoundException", f"Check configuration {check_id} not found."
        )
    return found


def delete_check(world: World, check_id: int) -> None:
    state(world)["checks"].remove(check(world, check_id))
    world.touch()


# ------------------------------------------------------------------ runs and approvals


def queue_run(world: World, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A pipeline run waiting at `stage`: a timeline with the stages before it (their
    HealthGate task results from `gateResults`) and one pending approval for every Approval
    check on the stage's environment."""
    run_id = int(spec["runId"])
    env = next(
        (
            e
            for e in state(world)["environments"]
            if e["name"].lower() == spec["environment"].lower()
        ),
        None,
    )
    if env is None:
        raise DevOpsError(
            404, "EnvironmentNotFoundException", f"no environment {spec['environment']}"
        )
    requester = next(
        (
            u
            for u in state(world)["users"]
            if u["uniqueName"].lower() == spec["requestedBy"].lower()
        ),
        None,
    )
    records: list[dict[str, Any]] = []
    for order, (stage, result) in enumerate(dict(spec.get("gateResults") or {}).items(), start=1):
        records += _stage_records(stage, order, result)
    waiting = _stage_records(spec["stage"], len(records) // 3 + 1, None)[0]
    records.append(waiting)
    created = []
    for check_doc in checks_on(world, "environment", str(env["id"])):
        if check_doc["type"].get("id") != APPROVAL_CHECK["id"]:
            continue
        approval = _approval(world, check_doc, spec, requester)
        created.append(approval)
        records.append(_record(approval["id"], "Checkpoint.Approval", "Approval", waiting["id"]))
    state(world)["approvals"].extend(created)
    state(world)["timelines"][str(run_id)] = records
    world.touch()
    return created


def _record(record_id: str, kind: str, name: str, parent: str | None, **extra: Any) -> Any:
    return {"id": record_id, "type": kind, "name": name, "parentId": parent, **extra}


def _stage_records(stage: str, order: int, gate_result: str | None) -> list[dict[str, Any]]:
    stage_id = str(uuid.uuid4())
    stage_record = _record(stage_id, "Stage", stage, None, identifier=stage, order=order)
    if gate_result is None:
        return [stage_record]
    job_id = str(uuid.uuid4())
    task = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "HealthGate")), "name": "HealthGate"}
    return [
        stage_record,
        _record(job_id, "Job", "release", stage_id, result="succeeded"),
        _record(str(uuid.uuid4()), "Task", "Health gate", job_id, result=gate_result, task=task),
    ]


def _approval(
    world: World,
    check_doc: dict[str, Any],
    spec: dict[str, Any],
    requester: dict[str, Any] | None,
) -> dict[str, Any]:
    settings = check_doc["settings"]
    users = {u["id"]: u for u in state(world)["users"]}
    return {
        "id": str(uuid.uuid4()),
        "steps": [
            {
                "assignedApprover": (
                    identity_ref(users[a["id"]])
                    if a["id"] in users
                    else {"id": a["id"], "displayName": a.get("displayName")}
                ),
                "status": "pending",
                "order": 1,
                "initiatedOn": now_iso(),
                "history": [],
            }
            for a in settings.get("approvers", [])
        ],
        "status": "pending",
        "createdOn": now_iso(),
        "lastModifiedOn": now_iso(),
        "executionOrder": settings.get("executionOrder", "anyOrder"),
        "minRequiredApprovers": int(settings.get("minRequiredApprovers") or 0),
        "blockedApprovers": (
            [identity_ref(requester)]
            if requester and settings.get("requesterCannotBeApprover")
            else list(settings.get("blockedApprovers", []))
        ),
        "instructions": settings.get("instructions", ""),
        "pipeline": {
            "id": str(spec.get("pipelineId", 1)),
            "name": spec.get("pipeline", "vm-app-release"),
            "owner": {"id": int(spec["runId"]), "name": str(spec.get("runName", spec["runId"]))},
        },
    }


def approvals(world: World) -> list[dict[str, Any]]:
    return list(state(world)["approvals"])


def approval(world: World, approval_id: str) -> dict[str, Any]:
    found: dict[str, Any] | None = next(
        (a for a in state(world)["approvals"] if a["id"] == approval_id.lower()), None
    )
    if found is None:
        raise DevOpsError(404, "ApprovalNotFoundException", f"Approval {approval_id} not found.")
    return found


def respond(
    world: World, approval_id: str, status: str, comment: str, caller: dict[str, Any]
) -> dict[str, Any]:
    """One approver's answer; the approval completes when enough approved or one rejected."""
    doc = approval(world, approval_id)
    if doc["status"] != "pending":
        raise DevOpsError(
            400,
            "ApprovalAlreadyCompletedException",
            f"Approval {approval_id} is already {doc['status']}.",
        )
    if status not in ("approved", "rejected"):
        raise DevOpsError(400, "InvalidRequestException", f"Invalid approval status '{status}'.")
    if any(b.get("id") == caller["id"] for b in doc["blockedApprovers"]):
        raise DevOpsError(
            400,
            "ApprovalNotAllowedException",
            f"{caller['displayName']} requested this run and cannot approve it.",
        )
    step = next(
        (
            s
            for s in doc["steps"]
            if s["assignedApprover"]["id"] == caller["id"] and s["status"] == "pending"
        ),
        None,
    )
    if step is None:
        raise DevOpsError(
            403,
            "ApprovalNotAuthorizedException",
            f"{caller['displayName']} is not an approver of approval {approval_id}.",
        )
    step.update(
        status=status,
        comment=comment,
        actualApprover=identity_ref(caller),
        lastModifiedBy=identity_ref(caller),
        lastModifiedOn=now_iso(),
    )
    approved = sum(1 for s in doc["steps"] if s["status"] == "approved")
    needed = doc["minRequiredApprovers"] or len(doc["steps"])
    if status == "rejected":
        doc["status"] = "rejected"
    elif approved >= needed:
        doc["status"] = "approved"
    doc["lastModifiedOn"] = now_iso()
    world.touch()
    return doc


def timeline(world: World, run_id: int) -> list[dict[str, Any]]:
    records = state(world)["timelines"].get(str(run_id))
    if records is None:
        raise DevOpsError(404, "BuildNotFoundException", f"Build with id {run_id} does not exist.")
    return list(records)
