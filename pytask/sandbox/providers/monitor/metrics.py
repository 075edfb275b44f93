"""Azure Monitor platform metrics of VMs and scale sets, computed from the same telemetry as
the workspace tables: `Metrics_List` through ARM and `MetricsBatch_Batch` on the regional data
plane (`/metrics/{region}/subscriptions/{sub}/metrics:getBatch`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pytask.sandbox.core import ArmError, Reply, RequestContext, World, reply
from pytask.sandbox.core.cloud import DEFAULT_LOCATION

from . import inventory, tables, workspaces
from .auth import require_token
from .errors import DataPlaneError
from .telemetry import WorkspaceModel
from .timespan import TimespanError, duration_seconds, iso_z, moment, parse_timespan

SANDBOX_AUDIENCE = "https://metrics.monitor.sandbox.local"
PUBLIC_AUDIENCES = {"https://metrics.monitor.azure.com", SANDBOX_AUDIENCE}
INTERVALS = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D", "FULL")
AGGREGATIONS = ("average", "minimum", "maximum", "total", "count")
MAX_BATCH_RESOURCES = 50


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    unit: str
    description: str
    table: str  # the generated table the samples come from
    value: str  # SQL expression of one sample


CPU = MetricDefinition(
    "Percentage CPU",
    "Percent",
    "The percentage of allocated compute units that are currently in use by the Virtual Machine(s)",
    "Perf",
    "CounterValue",
)
AVAILABILITY = MetricDefinition(
    "VmAvailabilityMetric",
    "Count",
    "Measure of Availability of Virtual machines over time.",
    "Availability",
    "available",
)
DEFINITIONS = {d.name.lower(): d for d in (CPU, AVAILABILITY)}
NAMESPACES = ("Microsoft.Compute/virtualMachines", "Microsoft.Compute/virtualMachineScaleSets")

_AVAILABILITY_VIEW = """
CREATE OR REPLACE TEMP VIEW Availability AS
SELECT p.TimeGenerated, p._ResourceId,
    CASE WHEN h.TimeGenerated IS NULL THEN 0.0 ELSE 1.0 END AS available
FROM Perf p LEFT JOIN Heartbeat h
    ON h.TimeGenerated = p.TimeGenerated AND h.Computer = p.Computer
"""


@dataclass(frozen=True)
class Query:
    names: tuple[MetricDefinition, ...]
    aggregations: tuple[str, ...]
    interval: str
    start: float
    end: float


def _bad_request(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def _namespace_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return ""
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    return "/".join(parts[at + 1 : at + 3])


def _definitions(names: str | None, resource_id: str) -> tuple[MetricDefinition, ...]:
    namespace = _namespace_of(resource_id)
    provider, _, kind = namespace.partition("/")
    if namespace.lower() not in (n.lower() for n in NAMESPACES):
        raise _bad_request(
            f"The sandbox has no metrics for resource type '{namespace}'; "
            f"supported: {', '.join(NAMESPACES)}."
        )
    wanted = [n.strip() for n in (names or CPU.name).split(",") if n.strip()]
    unknown = [n for n in wanted if n.lower() not in DEFINITIONS]
    if unknown:
        valid = ",".join(d.name for d in DEFINITIONS.values())
        raise _bad_request(
            f"Failed to find metric configuration for provider: {provider}, resource Type: "
            f"{kind}, metric: {unknown[0]}, Valid metrics: {valid}"
        )
    return tuple(DEFINITIONS[n.lower()] for n in wanted)


def _aggregations(text: str | None) -> tuple[str, ...]:
    wanted = tuple(a.strip().lower() for a in (text or "average").split(",") if a.strip())
    for name in wanted:
        if name not in AGGREGATIONS:
            raise _bad_request(
                f"Invalid aggregation '{name}'. Valid aggregations: "
                + ", ".join(a.capitalize() for a in AGGREGATIONS)
            )
    return wanted


def _interval(text: str | None) -> str:
    interval = (text or "PT1M").upper()
    if interval not in INTERVALS:
        raise _bad_request(
            f"Invalid time grain '{text}'. Supported time grains: {', '.join(INTERVALS)}"
        )
    return interval


def _model(world: World) -> WorkspaceModel:
    every = workspaces.workspaces(world)
    return workspaces.model_of(world, every[0]["id"]) if every else WorkspaceModel()


def _machines_of(world: World, resource_id: str) -> list[inventory.Machine]:
    wanted = resource_id.rstrip("/").lower()
    return [m for m in inventory.machines(world, _model(world)) if m.resource_id.lower() == wanted]


def _require_resource(world: World, resource_id: str) -> None:
    if world.get(resource_id) is None and not _machines_of(world, resource_id):
        parts = resource_id.strip("/").split("/")
        group = parts[3] if len(parts) > 3 else ""
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource '{_namespace_of(resource_id)}/{parts[-1]}' under resource group "
            f"'{group}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix",
        )


def _location(world: World, resource_id: str) -> str:
    doc = world.get(resource_id)
    return str((doc or {}).get("location") or DEFAULT_LOCATION)


def _buckets(query: Query) -> tuple[float, list[float]]:
    if query.interval == "FULL":
        return max(query.end - query.start, 1.0), [query.start]
    step = duration_seconds(query.interval)
    first = math.floor(query.start / step) * step
    return step, [first + i * step for i in range(max(0, math.ceil((query.end - first) / step)))]


def _series(
    con: Any, definition: MetricDefinition, resource_id: str, query: Query
) -> list[dict[str, Any]]:
    step, starts = _buckets(query)
    rows = con.execute(
        f"SELECT floor((epoch(TimeGenerated) - ?) / ?) AS b, avg({definition.value}), "
        f"min({definition.value}), max({definition.value}), sum({definition.value}), count(*) "
        f"FROM {definition.table} WHERE _ResourceId = ? AND epoch(TimeGenerated) >= ? "
        f"AND epoch(TimeGenerated) < ? GROUP BY b",
        [starts[0] if starts else 0.0, step, resource_id.lower(), query.start, query.end],
    ).fetchall()
    by_bucket = {int(r[0]): r[1:] for r in rows}
    points = []
    for index, at in enumerate(starts):
        point: dict[str, Any] = {"timeStamp": iso_z(at)}
        found = by_bucket.get(index)
        if found is not None:
            values = dict(zip(AGGREGATIONS, found, strict=True))
            point.update({a: float(values[a]) for a in query.aggregations})
        points.append(point)
    return points


def _values(world: World, resource_id: str, query: Query, clock: Any) -> list[dict[str, Any]]:
    model = _model(world)
    machines = _machines_of(world, resource_id)
    visible = clock.now() - clock.scaled(model.ingestion_delay)
    window = tables.Window(query.start, min(query.end, visible))
    con = tables.build(machines, model, window)
    con.execute(_AVAILABILITY_VIEW)
    try:
        out = []
        for definition in query.names:
            out.append(
                {
                    "id": f"{resource_id}/providers/Microsoft.Insights/metrics/{definition.name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": definition.name, "localizedValue": definition.name},
                    "displayDescription": definition.description,
                    "unit": definition.unit,
                    "timeseries": [
                        {"metadatavalues": [], "data": _series(con, definition, resource_id, query)}
                    ],
                    "errorCode": "Success",
                }
            )
        return out
    finally:
        con.close()


def _query(params: Mapping[str, str], resource_id: str, start: float, end: float) -> Query:
    return Query(
        names=_definitions(params.get("metricnames"), resource_id),
        aggregations=_aggregations(params.get("aggregation")),
        interval=_interval(params.get("interval")),
        start=start,
        end=end,
    )


def _list_timespan(query: Mapping[str, str]) -> str:
    """Metrics_List decodes its timespan once more: `az monitor metrics list` quote_plus-es
    `start/end` itself before the SDK encodes the query string, so `%253A` reaches the
    service, and Azure answers it. (`unquote`, not `unquote_plus`: a `+00:00` offset stays.)"""
    return unquote(query.get("timespan") or "PT1H")


def list_metrics(ctx: RequestContext) -> dict[str, Any]:
    resource_id = "/" + ctx.params["resourceUri"].strip("/")
    _require_resource(ctx.world, resource_id)
    try:
        start, end = parse_timespan(_list_timespan(ctx.query), ctx.clock.now())
    except TimespanError as error:
        raise _bad_request(str(error)) from error
    query = _query(ctx.query, resource_id, start, end)
    return {
        "cost": 0,
        "timespan": f"{iso_z(start)}/{iso_z(end)}",
        "interval": query.interval,
        "value": _values(ctx.world, resource_id, query, ctx.clock),
        "namespace": _namespace_of(resource_id),
        "resourceregion": _location(ctx.world, resource_id),
    }


def _batch_ids(ctx: RequestContext) -> list[str]:
    body = ctx.json_object()
    ids = body.get("resourceids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise _bad_request("The request body must have a non-empty 'resourceids' list.")
    if len(ids) > MAX_BATCH_RESOURCES:
        raise _bad_request(f"At most {MAX_BATCH_RESOURCES} resource ids are allowed per call.")
    return [str(i) for i in ids]


def _check_batch_resource(ctx: RequestContext, resource_id: str, namespace: str) -> None:
    if _namespace_of(resource_id).lower() != namespace.lower():
        raise _bad_request(
            f"Resource '{resource_id}' is not of the metric namespace '{namespace}'."
        )
    region = ctx.params["region"].lower()
    if _location(ctx.world, resource_id).lower() != region:
        raise _bad_request(
            f"Resource '{resource_id}' is not in region '{region}': a batch call must go to "
            "the regional endpoint of its resources."
        )


def get_batch(ctx: RequestContext) -> Reply:
    require_token(ctx, PUBLIC_AUDIENCES)
    namespace = ctx.query.get("metricnamespace")
    if not namespace:
        raise DataPlaneError(400, "BadRequest", "The metricnamespace parameter is required.")
    ids = _batch_ids(ctx)
    try:
        start = moment(ctx.query["starttime"]) if "starttime" in ctx.query else None
        end = moment(ctx.query["endtime"]) if "endtime" in ctx.query else ctx.clock.now()
    except TimespanError as error:
        raise _bad_request(str(error)) from error
    start = end - 3600.0 if start is None else start
    values = []
    for resource_id in ids:
        _check_batch_resource(ctx, resource_id, namespace)
        _require_resource(ctx.world, resource_id)
        query = _query(ctx.query, resource_id, start, end)
        values.append(
            {
                "starttime": iso_z(start),
                "endtime": iso_z(end),
                "interval": query.interval,
                "value": _values(ctx.world, resource_id, query, ctx.clock),
                "namespace": namespace,
                "resourceregion": ctx.params["region"].lower(),
                "resourceid": resource_id,
            }
        )
    return reply({"values": values}, 200)
