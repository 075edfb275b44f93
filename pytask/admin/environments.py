"""`pytask setup environments`: Azure DevOps environments and their checks, idempotently.

For every environment: found by name or created. On the protected ones: an Approval check
(approvers, minimum approvers, requester cannot approve), optionally a Business Hours check
and an Exclusive Lock. A check of the same type already on the environment is reported as
found and left as it is (people may have tuned it in the portal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.devops.connection import Connection
from azure.devops.v7_1.task_agent.models import EnvironmentCreateParameter

from pytask.admin.connection import AdminError
from pytask.admin.rest import RestClient

APPROVAL = {"id": "8c6f20a7-a545-4486-9777-f762fafe0d4d", "name": "Approval"}
TASK_CHECK = {"id": "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7", "name": "Task Check"}
EXCLUSIVE_LOCK = {"id": "2ef31ad6-baa0-403a-8b45-2cbc9b4e5563", "name": "ExclusiveLock"}
BUSINESS_HOURS_TASK = {
    "id": "445fde2f-6c39-441c-807f-8a59ff2e075f",
    "name": "evaluateBusinessHours",
    "version": "0.0.1",
}
TIMEOUT_MINUTES = 43200  # 30 days, the portal's default


@dataclass(frozen=True)
class BusinessHours:
    days: str  # "Monday,Tuesday,..."
    start: str  # "09:00"
    end: str  # "17:00"
    time_zone: str = "UTC"

    @classmethod
    def parse(cls, text: str) -> BusinessHours:
        """`Mon-Fri 09:00-17:00 [TZ]` or `Monday,Wednesday 08:00-12:00 [TZ]`."""
        parts = text.split()
        if len(parts) not in (2, 3) or "-" not in parts[1]:
            raise AdminError(f"--business-hours {text!r}: expected e.g. 'Mon-Fri 09:00-17:00 UTC'")
        start, _, end = parts[1].partition("-")
        return cls(_days(parts[0]), start, end, parts[2] if len(parts) == 3 else "UTC")


_WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _day(name: str) -> int:
    for index, day in enumerate(_WEEK):
        if name and day.lower().startswith(name.lower()[:3]):
            return index
    raise AdminError(f"unknown day {name!r}")


def _days(text: str) -> str:
    if "-" in text and "," not in text:
        first, last = (_day(p) for p in text.split("-", 1))
        return ",".join(_WEEK[first : last + 1])
    return ",".join(_WEEK[_day(p)] for p in text.split(","))


@dataclass(frozen=True)
class Protection:
    approvers: list[str] = field(default_factory=list)  # emails, names or ids
    min_approvers: int = 1
    requester_cannot_approve: bool = True
    business_hours: BusinessHours | None = None
    exclusive_lock: bool = False


@dataclass
class Setup:
    connection: Connection
    project: str
    say: Callable[[str], None] = print

    def __post_init__(self) -> None:
        clients = self.connection.clients_v7_1
        self.agents = clients.get_task_agent_client()
        self.rest = RestClient(self.connection.base_url, self.connection._creds)
        self._identities = clients.get_identity_client()

    def environment(self, name: str) -> Any:
        found = [e for e in self.agents.get_environments(self.project, name=name) if e.name == name]
        if found:
            self.say(f"environment {name}: found (id {found[0].id})")
            return found[0]
        created = self.agents.add_environment(
            EnvironmentCreateParameter(name=name, description="VM Application Release"),
            self.project,
        )
        self.say(f"environment {name}: created (id {created.id})")
        return created

    def protect(self, environment: Any, protection: Protection) -> None:
        checks = f"{self.project}/_apis/pipelines/checks/configurations"
        query = {"resourceType": "environment", "resourceId": str(environment.id)}
        existing = self.rest.call("GET", checks, {**query, "$expand": "settings"})["value"]
        wanted = self._wanted_checks(protection)
        for label, check_type, settings in wanted:
            same = [c for c in existing if _same_check(c, check_type, settings)]
            if same:
                self.say(f"  {label}: found (check {same[0]['id']})")
                continue
            body = {
                "type": check_type,
                "settings": settings,
                "timeout": TIMEOUT_MINUTES,
                "resource": {
                    "type": "environment",
                    "id": str(environment.id),
                    "name": environment.name,
                },
            }
            created = self.rest.call("POST", checks, {}, body)
            self.say(f"  {label}: created (check {created['id']})")

    def _wanted_checks(self, protection: Protection) -> list[tuple[str, dict[str, str], Any]]:
        out: list[tuple[str, dict[str, str], Any]] = []
        if protection.approvers:
            approvers = [self._identity(a) for a in protection.approvers]
            settings = {
                "approvers": approvers,
                "executionOrder": "anyOrder",
                "minRequiredApprovers": protection.min_approvers,
                "requesterCannotBeApprover": protection.requester_cannot_approve,
                "instructions": "Check the previous stage's health gate verdict.",
                "blockedApprovers": [],
            }
            names = ", ".join(a["displayName"] for a in approvers)
            out.append((f"approval by {names}", APPROVAL, settings))
        if protection.business_hours:
            hours = protection.business_hours
            settings = {
                "displayName": "Business Hours",
                "definitionRef": BUSINESS_HOURS_TASK,
                "inputs": {
                    "businessDays": hours.days,
                    "timeZone": hours.time_zone,
                    "startTime": hours.start,
                    "endTime": hours.end,
                },
                "retryInterval": 5,
            }
            out.append((f"business hours {hours.start}-{hours.end}", TASK_CHECK, settings))
        if protection.exclusive_lock:
            out.append(("exclusive lock", EXCLUSIVE_LOCK, {}))
        return out

    def _identity(self, who: str) -> dict[str, str]:
        found = self._identities.read_identities(search_filter="General", filter_value=who)
        if not found:
            raise AdminError(f"no Azure DevOps identity matches approver {who!r}")
        if len(found) > 1:
            raise AdminError(f"approver {who!r} matches {len(found)} identities; use an email")
        return {"id": found[0].id, "displayName": found[0].provider_display_name}


def _same_check(existing: dict[str, Any], check_type: dict[str, str], settings: Any) -> bool:
    if str((existing.get("type") or {}).get("id", "")).lower() != check_type["id"]:
        return False
    if check_type is TASK_CHECK:
        ref = (existing.get("settings") or {}).get("definitionRef") or {}
        return bool(ref.get("id") == BUSINESS_HOURS_TASK["id"])
    return True
