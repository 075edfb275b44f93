"""Reading a check's source for one scope: Log Analytics (KQL with the scope as `let`
parameters), platform metrics (one batch call per region and resource type) or fired alerts.

A source that cannot be read this interval raises SourceUnavailable (the check counts as
Inconclusive); a query Log Analytics rejects as invalid is the author's mistake, and a refused
permission (403) will not heal during the soak: both fail the task at once (TaskError), the
403 naming the role and permission that is missing."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import AzureError, HttpResponseError
from azure.monitor.query import LogsQueryPartialResult, LogsQueryResult

from pytask.agent import TaskError
from pytask.cloud import CloudSession
from pytask.gate import CheckSpec, Measurement, measurement_from_rows
from pytask.gate.kql import with_parameters
from pytask.tasks.deploy.compute import Compute
from pytask.tasks.refusals import ROLES_DOC

from .limits import QueryLimiter
from .scope import Scope, Target
from .spec import Workspace

# What each source needs when Azure refuses it (docs/installation.md, section 3).
NEEDS = {
    "Log Analytics": "Log Analytics Reader on the workspace (permission "
    "Microsoft.OperationalInsights/workspaces/query/read)",
    "metrics": "Monitoring Reader on the targets (permission Microsoft.Insights/metrics/read)",
    "alerts": "Monitoring Reader on the subscription (permission "
    "Microsoft.AlertsManagement/alerts/read)",
}
METRICS_API = "2024-02-01"
ALERTS_API = "2019-03-01"
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$", re.IGNORECASE)


class SourceUnavailable(Exception):
    """The source could not be read this interval (throttled past the retries, outage)."""


@dataclass(frozen=True)
class Reading:
    measurement: Measurement
    incomplete: bool = False
    note: str = ""


def unavailable(source: str, exc: AzureError) -> Exception:
    """What a failed read becomes: a TaskError when Azure refused the permission, otherwise
    SourceUnavailable for this interval."""
    if isinstance(exc, HttpResponseError) and exc.status_code == 403:
        code = exc.error.code if exc.error is not None and exc.error.code else exc.reason
        return TaskError(
            f"Azure answered 403 {code} to the {source} query: the connection's identity lacks "
            f"a role: it needs {NEEDS[source]} ({ROLES_DOC})."
        )
    return SourceUnavailable(f"{source}: {_one_line(str(exc))}")


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_interval(text: str) -> timedelta:
    found = _DURATION.match(text.strip())
    if not found or not any(found.groups()):
        raise ValueError(f"'{text}' is not an ISO 8601 duration like PT1M")
    days, hours, minutes = (int(g or 0) for g in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _rows(table: Any) -> list[dict[str, Any]]:
    columns = list(table.columns)
    return [dict(zip(columns, row, strict=False)) for row in table.rows]


@dataclass
class Sources:
    session: CloudSession
    workspace: Workspace | None
    limiter: QueryLimiter

    def read(self, check: CheckSpec, scope: Scope, span: tuple[datetime, datetime]) -> Reading:
        if check.source == "kql":
            return self._kql(check, scope, span)
        if check.source == "metric":
            return self._metric(check, scope)
        return self._alerts(check, scope)

    # --- Log Analytics -------------------------------------------------------------------
    def _kql(self, check: CheckSpec, scope: Scope, span: tuple[datetime, datetime]) -> Reading:
        assert self.workspace is not None and check.query is not None
        query = with_parameters(check.query, scope.kql_parameters())
        try:
            with self.limiter.slot("logs"), self.session.logs() as client:
                if self.workspace.is_resource:
                    result = client.query_resource(self.workspace.text, query, timespan=span)
                else:
                    result = client.query_workspace(self.workspace.text, query, timespan=span)
        except HttpResponseError as exc:
            if exc.status_code == 400:
                raise TaskError(
                    f"Check '{check.name}': Log Analytics rejected the query: {_one_line(str(exc))}"
                ) from exc
            raise unavailable("Log Analytics", exc) from exc
        except AzureError as exc:
            raise unavailable("Log Analytics", exc) from exc
        if isinstance(result, LogsQueryPartialResult):
            tables = result.partial_data or []
            note = _partial_note(result.partial_error)
            rows = _rows(tables[0]) if tables else []
            return Reading(measurement_from_rows(check.shape, rows), True, note)
        assert isinstance(result, LogsQueryResult)
        rows = _rows(result.tables[0]) if result.tables else []
        return Reading(measurement_from_rows(check.shape, rows))

    # --- metrics -------------------------------------------------------------------------
    def _metric(self, check: CheckSpec, scope: Scope) -> Reading:
        options = check.options
        name = str(options["metric"])
        aggregation = str(options.get("aggregation", "average")).lower()
        grain = parse_interval(str(options.get("interval", "PT1M")))
        points: dict[datetime, list[float]] = defaultdict(list)
        for (location, namespace), group in _groups(scope.targets).items():
            try:
                for at, value in self._metric_values(
                    group, location, namespace, name, aggregation, grain, scope
                ):
                    points[at].append(value)
            except AzureError as exc:
                raise unavailable("metrics", exc) from exc
        series = tuple(sum(v) / len(v) for _, v in sorted(points.items()))
        return Reading(Measurement(series=series))

    def _metric_values(
        self,
        targets: Sequence[Target],
        location: str,
        namespace: str,
        name: str,
        aggregation: str,
        grain: timedelta,
        scope: Scope,
    ) -> Iterable[tuple[datetime, float]]:
        if not self.session.endpoints.metrics_template:
            yield from self._arm_metric_values(targets, name, aggregation, grain, scope)
            return
        with self.limiter.slot("metrics"), self.session.metrics(location) as client:
            results = client.query_resources(
                resource_ids=[t.id for t in targets],
                metric_namespace=namespace,
                metric_names=[name],
                timespan=(scope.start, scope.end),
                granularity=grain,
                aggregations=[aggregation.capitalize()],
            )
        for result in results:
            for metric in result.metrics:
                for series in metric.timeseries:
                    for point in series.data:
                        value = getattr(point, aggregation, None)
                        if value is not None:
                            yield point.timestamp, float(value)

    def _arm_metric_values(
        self,
        targets: Sequence[Target],
        name: str,
        aggregation: str,
        grain: timedelta,
        scope: Scope,
    ) -> Iterable[tuple[datetime, float]]:
        """Clouds without the regional metrics plane (Azure Stack Hub): one ARM call each."""
        minutes = max(1, int(grain.total_seconds() // 60))
        span = f"{_iso(scope.start)}/{_iso(scope.end)}"
        with self.session.arm() as arm:
            for target in targets:
                path = (
                    f"{target.id}/providers/Microsoft.Insights/metrics?metricnames={quote(name)}"
                    f"&timespan={span}&interval=PT{minutes}M&aggregation={aggregation}"
                )
                with self.limiter.slot("metrics"):
                    body = arm.request("GET", path, METRICS_API) or {}
                for metric in body.get("value") or []:
                    for series in metric.get("timeseries") or []:
                        for point in series.get("data") or []:
                            if point.get(aggregation) is not None:
                                at = datetime.fromisoformat(
                                    point["timeStamp"].replace("Z", "+00:00")
                                )
                                yield at, float(point[aggregation])

    # --- alerts --------------------------------------------------------------------------
    def _alerts(self, check: CheckSpec, scope: Scope) -> Reading:
        wanted = _severities(check.options.get("severity"))
        ids = set(scope.resource_ids)
        subscriptions = sorted({t.id.strip("/").split("/")[1] for t in scope.targets})
        count = 0
        try:
            with self.session.arm() as arm:
                compute = Compute(arm)
                for subscription in subscriptions:
                    path = (
                        f"/subscriptions/{subscription}/providers/Microsoft.AlertsManagement/"
                        f"alerts?customTimeRange={_iso(scope.start)}/{_iso(scope.end)}"
                    )
                    with self.limiter.slot("alerts"):
                        alerts = list(compute.pages(path, ALERTS_API))
                    count += sum(1 for a in alerts if _counts(a, ids, wanted, scope.start))
        except AzureError as exc:
            raise unavailable("alerts", exc) from exc
        return Reading(Measurement(series=(float(count),)))


def _partial_note(error: Any) -> str:
    """The most specific message of a partial error (e.g. the record limit that was hit)."""
    messages = [str(getattr(error, "message", "") or "partial result")]
    pending: list[Any] = list(getattr(error, "details", None) or [])
    while pending:
        item = pending.pop(0)
        if isinstance(item, Mapping):
            if item.get("message"):
                messages.append(str(item["message"]))
            pending.extend(d for d in (item.get("innererror"), *(item.get("details") or [])) if d)
    return _one_line(messages[-1])


def _iso(moment: datetime) -> str:
    # Microseconds kept: the window must be the same one the batch plane is asked for.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _groups(targets: Iterable[Target]) -> dict[tuple[str, str], list[Target]]:
    groups: dict[tuple[str, str], list[Target]] = defaultdict(list)
    for target in targets:
        groups[(target.location.lower(), target.namespace)].append(target)
    return dict(groups)


def _severities(value: Any) -> set[str]:
    if value is None:
        return set()
    items = value if isinstance(value, list) else str(value).split(",")
    out = set()
    for item in items:
        text = str(item).strip()
        out.add((text if text.lower().startswith("sev") else f"Sev{text}").lower())
    return out


def _counts(alert: Mapping[str, Any], ids: set[str], severities: set[str], since: datetime) -> bool:
    essentials = (alert.get("properties") or {}).get("essentials") or {}
    if str(essentials.get("targetResource", "")).lower() not in ids:
        return False
    if severities and str(essentials.get("severity", "")).lower() not in severities:
        return False
    started = str(essentials.get("startDateTime", ""))
    try:
        return datetime.fromisoformat(started.replace("Z", "+00:00")) >= since
    except ValueError:
        return False
