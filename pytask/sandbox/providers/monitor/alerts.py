"""Fired alerts (`Alerts_GetAll`): the workspaces' seeded alert rules evaluated on their
telemetry over tumbling windows of `windowSeconds`, per machine. A run of breaching windows is
one alert: it fires at the end of the first breaching window and resolves at the end of the
first healthy one after it."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core import ArmError, RequestContext, World
from pytask.sandbox.core.clock import Clock

from . import inventory, tables, workspaces
from .telemetry import AlertRule, WorkspaceModel
from .timespan import TimespanError, iso_z, moment, parse_timespan

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqual": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqual": operator.le,
    "Equals": operator.eq,
}
# signal -> (table, value per window, signal type, monitor service)
SIGNALS: dict[str, tuple[str, str, str, str]] = {
    "errorRate": ("AppRequests", "avg(CASE WHEN Success THEN 0.0 ELSE 1.0 END)", "Log",
                  "Log Analytics"),
    "latencyP95": ("AppRequests", "quantile_cont(DurationMs, 0.95)", "Log", "Log Analytics"),
    "cpu": ("Perf", "avg(CounterValue)", "Metric", "Platform"),
    "heartbeatMissing": ("Missed", "avg(missed)", "Log", "Log Analytics"),
}  # fmt: skip
TIME_RANGES = {"1h": 3600.0, "1d": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
_MISSED_VIEW = """
CREATE OR REPLACE TEMP VIEW Missed AS
SELECT p.TimeGenerated, p.Computer AS AppRoleInstance, p._ResourceId,
    CASE WHEN h.TimeGenerated IS NULL THEN 1.0 ELSE 0.0 END AS missed
FROM Perf p LEFT JOIN Heartbeat h ON h.TimeGenerated = p.TimeGenerated AND h.Computer = p.Computer
"""


@dataclass(frozen=True)
class Firing:
    rule: AlertRule
    workspace_id: str
    computer: str
    resource_id: str
    start: float
    resolved: float | None
    value: float


def _windows(con: Any, rule: AlertRule, end: float) -> list[tuple[str, str, int, float]]:
    table, value, _, _ = SIGNALS[rule.signal]
    computer = "Computer" if table == "Perf" else "AppRoleInstance"
    width = rule.window_seconds
    return [
        (str(r[0]), str(r[1]), int(r[2]), float(r[3]))
        for r in con.execute(
            f"SELECT {computer}, _ResourceId, floor(epoch(TimeGenerated) / ?)::BIGINT AS b, "
            f"{value} FROM {table} GROUP BY ALL HAVING (b + 1) * ? <= ? ORDER BY 1, 3",
            [width, width, end],
        ).fetchall()
        if r[3] is not None
    ]


def _runs(
    rule: AlertRule, workspace_id: str, rows: list[tuple[str, str, int, float]]
) -> list[Firing]:
    breached = OPERATORS[rule.operator]
    firings: list[Firing] = []
    open_run: dict[str, Firing] = {}
    for computer, resource, bucket, value in rows:
        end = (bucket + 1) * rule.window_seconds
        current = open_run.get(computer)
        if breached(value, rule.threshold):
            if current is None:
                open_run[computer] = Firing(
                    rule, workspace_id, computer, resource, end, None, value
                )
        elif current is not None:
            firings.append(Firing(**{**current.__dict__, "resolved": end}))
            del open_run[computer]
    return firings + list(open_run.values())


def _machine_ids(machines: list[inventory.Machine]) -> dict[str, str]:
    return {m.computer: m.resource_id for m in machines}


def evaluate(world: World, clock: Clock) -> list[Firing]:
    out: list[Firing] = []
    for ws in workspaces.workspaces(world):
        model: WorkspaceModel = workspaces.model_of(world, ws["id"])
        if not model.alert_rules:
            continue
        machines = inventory.machines(world, model)
        end = clock.now() - clock.scaled(model.ingestion_delay)
        start = min((m.start for m in machines), default=end)
        con = tables.build(machines, model, tables.Window(start, end))
        con.execute(_MISSED_VIEW)
        ids = _machine_ids(machines)
        try:
            for rule in model.alert_rules:
                for firing in _runs(rule, ws["id"], _windows(con, rule, end)):
                    out.append(
                        Firing(
                            **{
                                **firing.__dict__,
                                "resource_id": ids.get(firing.computer, firing.resource_id),
                            }
                        )
                    )
        finally:
            con.close()
    return out


def document(firing: Firing, subscription: str) -> dict[str, Any]:
    rule = firing.rule
    _, _, signal_type, service = SIGNALS[rule.signal]
    target = firing.resource_id
    parts = target.strip("/").split("/")
    key = f"{firing.workspace_id}|{rule.name}|{firing.computer}|{firing.start}".lower()
    alert_id = str(uuid.uuid5(uuid.NAMESPACE_URL, key))
    rule_id = (
        f"/subscriptions/{subscription}/resourceGroups/{parts[3] if len(parts) > 3 else ''}"
        f"/providers/Microsoft.Insights/scheduledQueryRules/{rule.name}"
    )
    essentials: dict[str, Any] = {
        "severity": rule.severity,
        "signalType": signal_type,
        "alertState": "New",
        "monitorCondition": "Fired" if firing.resolved is None else "Resolved",
        "monitorService": service,
        "targetResource": target,
        "targetResourceName": parts[-1],
        "targetResourceGroup": parts[3] if len(parts) > 3 else "",
        "targetResourceType": parts[-2] if len(parts) > 1 else "",
        "sourceCreatedId": str(uuid.uuid5(uuid.NAMESPACE_OID, key)),
        "smartGroupId": str(uuid.uuid5(uuid.NAMESPACE_DNS, rule.name.lower())),
        "smartGroupingReason": "",
        "alertRule": rule_id,
        "startDateTime": iso_z(firing.start),
        "lastModifiedDateTime": iso_z(firing.resolved or firing.start),
        "lastModifiedUserName": "System",
        "actionStatus": {"isSuppressed": False},
        "description": rule.description
        or f"{rule.signal} {rule.operator} {rule.threshold:g} on {firing.computer} "
        f"(value {firing.value:.6g} over {rule.window_seconds:g} s)",
    }
    if firing.resolved is not None:
        essentials["monitorConditionResolvedDateTime"] = iso_z(firing.resolved)
    return {
        "properties": {"essentials": essentials, "egressConfig": {}, "context": {}},
        "id": f"{target}/providers/Microsoft.AlertsManagement/alerts/{alert_id}",
        "type": "Microsoft.AlertsManagement/alerts",
        "name": rule.name,
    }


_FILTERS = {
    "targetResource": "targetResource",
    "targetResourceType": "targetResourceType",
    "targetResourceGroup": "targetResourceGroup",
    "monitorService": "monitorService",
    "monitorCondition": "monitorCondition",
    "severity": "severity",
    "alertState": "alertState",
    "alertRule": "alertRule",
}


def _matches(essentials: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    for parameter, field in _FILTERS.items():
        wanted = query.get(parameter)
        if wanted and str(essentials.get(field, "")).lower() not in {
            w.strip().lower() for w in wanted.split(",")
        }:
            return False
    return True


def _range(ctx: RequestContext) -> tuple[float, float]:
    now = ctx.clock.now()
    custom = ctx.query.get("customTimeRange")
    if custom:
        try:
            return parse_timespan(custom, now)
        except TimespanError as error:
            raise ArmError(400, "InvalidParameter", str(error)) from error
    time_range = ctx.query.get("timeRange") or "1d"
    if time_range not in TIME_RANGES:
        raise ArmError(
            400,
            "InvalidParameter",
            f"timeRange must be one of {', '.join(TIME_RANGES)} (got '{time_range}').",
        )
    return now - TIME_RANGES[time_range], now


def list_alerts(ctx: RequestContext) -> dict[str, Any]:
    start, end = _range(ctx)
    docs = [document(f, ctx.subscription_id) for f in evaluate(ctx.world, ctx.clock)]
    kept = [
        d
        for d in docs
        if _matches(d["properties"]["essentials"], ctx.query)
        and start <= moment(d["properties"]["essentials"]["startDateTime"]) <= end
    ]
    descending = (ctx.query.get("sortOrder") or "desc").lower() == "desc"
    kept.sort(key=lambda d: d["properties"]["essentials"]["startDateTime"], reverse=descending)
    return ctx.page(kept)
