"""The workspace's tables (Heartbeat, AppRequests, Perf, InsightsMetrics) generated in DuckDB
from the machines' periods and the telemetry model, for rows between `start` and `end`.

Rows sit on a fixed cadence (`sampleSeconds`); every random draw is a hash of the machine, the
sample and the draw's purpose, so the same instant always has the same rows, whichever query
asks and however often: a baseline read twice is the same baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import duckdb_kql

from .inventory import Machine, Period
from .telemetry import VersionModel, WorkspaceModel

# Columns as Azure Monitor's standard tables have them (a subset), in their order.
SCHEMAS: dict[str, str] = {
    "Heartbeat": (
        "TimeGenerated TIMESTAMP, Computer VARCHAR, Category VARCHAR, OSType VARCHAR, "
        "Version VARCHAR, ComputerEnvironment VARCHAR, ResourceId VARCHAR, "
        "SourceSystem VARCHAR, _ResourceId VARCHAR, Type VARCHAR"
    ),
    "AppRequests": (
        "TimeGenerated TIMESTAMP, Id VARCHAR, Name VARCHAR, Url VARCHAR, Success BOOLEAN, "
        "ResultCode VARCHAR, DurationMs DOUBLE, AppRoleName VARCHAR, AppRoleInstance VARCHAR, "
        "AppVersion VARCHAR, _ResourceId VARCHAR, Type VARCHAR"
    ),
    "Perf": (
        "TimeGenerated TIMESTAMP, Computer VARCHAR, ObjectName VARCHAR, CounterName VARCHAR, "
        "InstanceName VARCHAR, CounterValue DOUBLE, _ResourceId VARCHAR, Type VARCHAR"
    ),
    "InsightsMetrics": (
        "TimeGenerated TIMESTAMP, Computer VARCHAR, Origin VARCHAR, Namespace VARCHAR, "
        "Name VARCHAR, Val DOUBLE, Tags VARCHAR, _ResourceId VARCHAR, Type VARCHAR"
    ),
}


@dataclass(frozen=True)
class Window:
    """Rows with start <= TimeGenerated <= end (epoch seconds) exist in the tables."""

    start: float
    end: float


def _state_rows(machine: Machine, model: WorkspaceModel, end: float) -> list[tuple[Any, ...]]:
    rows = []
    for period in machine.periods:
        if period.start > end:
            break
        health = _machine_health(period, model)
        rows.append(
            (
                machine.computer,
                machine.resource_id,
                machine.os_type,
                period.start,
                min(period.end, end + 1.0),
                health.heartbeat,
                health.cpu_mean,
                health.cpu_sd,
            )
        )
    return rows


def _machine_health(period: Period, model: WorkspaceModel) -> VersionModel:
    """Heartbeats stop if any running version stops them; CPU is the busiest version's."""
    models = [model.model_for(r.application, r.version) for r in period.running]
    if not models:
        return model.default
    busiest = max(models, key=lambda m: m.cpu_mean)
    return VersionModel(
        heartbeat=all(m.heartbeat for m in models), cpu_mean=busiest.cpu_mean, cpu_sd=busiest.cpu_sd
    )


def _request_rows(machine: Machine, model: WorkspaceModel, end: float) -> list[tuple[Any, ...]]:
    rows = []
    for period in machine.periods:
        if period.start > end:
            break
        for running in period.running:
            m = model.model_for(running.application, running.version)
            per_sample = m.requests_per_minute * model.sample_seconds / 60.0
            rows.append(
                (
                    machine.computer,
                    machine.resource_id,
                    running.application,
                    running.version,
                    period.start,
                    min(period.end, end + 1.0),
                    per_sample,
                    m.error_rate,
                    math.log(m.latency_median_ms),
                    m.latency_sigma,
                )
            )
    return rows


_SETUP = """
CREATE MACRO u(a, b, c, d) AS ((hash(a, b, c, d) % 1000003)::DOUBLE + 0.5) / 1000003.0;
CREATE MACRO gauss(a, b, c) AS
    sqrt(-2 * ln(u(a, b, c, 'g1'))) * cos(2 * pi() * u(a, b, c, 'g2'));
CREATE MACRO ts(seconds) AS make_timestamp(CAST(round(seconds * 1000000) AS BIGINT));
CREATE TABLE states (computer VARCHAR, rid VARCHAR, os VARCHAR, s DOUBLE, e DOUBLE,
    heartbeat BOOLEAN, cpu_mean DOUBLE, cpu_sd DOUBLE);
CREATE TABLE segs (computer VARCHAR, rid VARCHAR, app VARCHAR, version VARCHAR, s DOUBLE,
    e DOUBLE, per_sample DOUBLE, error_rate DOUBLE, mu DOUBLE, sigma DOUBLE);
"""

_STEPS = "CREATE TABLE steps AS SELECT range AS k, range * {ss} AS t FROM range({lo}, {hi})"

_HEARTBEAT = """
INSERT INTO Heartbeat SELECT ts(t), computer, 'Azure Monitor Agent', os, '1.0', 'Azure', rid,
    'OpsManager', lower(rid), 'Heartbeat'
FROM states, steps WHERE heartbeat AND t >= s AND t < e
"""

_PERF_VALUE = "greatest(0.0, least(100.0, cpu_mean + cpu_sd * gauss(computer, k, 'cpu')))"
_PERF = f"""
INSERT INTO Perf SELECT ts(t), computer, 'Processor', '% Processor Time', '_Total',
    {_PERF_VALUE}, lower(rid), 'Perf'
FROM states, steps WHERE t >= s AND t < e
"""
_INSIGHTS = f"""
INSERT INTO InsightsMetrics SELECT ts(t), computer, 'vm.azm.ms', 'Processor',
    'UtilizationPercentage', {_PERF_VALUE}, '{{}}', lower(rid), 'InsightsMetrics'
FROM states, steps WHERE t >= s AND t < e
"""

# n requests in a sample: the rate's whole part, plus one with the fraction's probability.
_REQUESTS = """
INSERT INTO AppRequests
WITH draws AS (
    SELECT g.*, steps.k, steps.t, i,
        floor(per_sample) + CASE WHEN u(computer, k, app, 'n') < per_sample - floor(per_sample)
            THEN 1 ELSE 0 END AS n
    FROM segs g, steps, range(0, {width}) r(i)
    WHERE steps.t >= g.s AND steps.t < g.e
), kept AS (
    SELECT *, u(computer, k, app || i, 'fail') < error_rate AS failed FROM draws WHERE i < n
)
SELECT ts(t + (i + 0.5) / n * {ss}),
    md5(computer || ':' || k || ':' || app || ':' || i)[1:16], 'GET /', 'https://app/',
    NOT failed, CASE WHEN failed THEN '500' ELSE '200' END,
    exp(mu + sigma * gauss(computer, k, app || i)), app, computer, version, lower(rid),
    'AppRequests'
FROM kept
"""


def build(machines: Sequence[Machine], model: WorkspaceModel, window: Window) -> Any:
    """A DuckDB connection (UTC, duckdb-kql ready) holding the four tables for `window`."""
    con = duckdb_kql.connect()
    con.execute(_SETUP)
    for name, columns in SCHEMAS.items():
        con.execute(f"CREATE TABLE {name} ({columns})")
    ss = model.sample_seconds
    lo, hi = math.ceil(window.start / ss), math.floor(window.end / ss) + 1
    if hi <= lo or not machines:
        return con
    states = [row for m in machines for row in _state_rows(m, model, window.end)]
    segs = [row for m in machines for row in _request_rows(m, model, window.end)]
    if states:
        con.executemany("INSERT INTO states VALUES (?, ?, ?, ?, ?, ?, ?, ?)", states)
    if segs:
        con.executemany("INSERT INTO segs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", segs)
    con.execute(_STEPS.format(ss=ss, lo=lo, hi=hi))
    for statement in (_HEARTBEAT, _PERF, _INSIGHTS):
        con.execute(statement)
    width = math.ceil(max((row[6] for row in segs), default=0.0))
    if width:
        con.execute(_REQUESTS.format(width=width, ss=ss))
    return con


def restrict_to_resource(con: duckdb.DuckDBPyConnection, resource_id: str) -> None:
    """Keep only rows of one resource (or everything under it: a group, a subscription), as a
    resource-centric query sees them."""
    prefix = "/" + resource_id.strip("/").lower()
    for name in SCHEMAS:
        con.execute(
            f"DELETE FROM {name} WHERE NOT (_ResourceId = ? OR starts_with(_ResourceId, ?))",
            [prefix, prefix + "/"],
        )
