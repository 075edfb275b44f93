"""The monitor provider's state and behaviour without HTTP: the telemetry model, machine
histories (from declarations and from the VM provider's application actions), the generated
tables (deterministic, per-version behaviour, ingestion cut), KQL results and errors."""

from __future__ import annotations

import math
import time
from typing import Any

import duckdb_kql
import pytest

from pytask.sandbox.core import ArmError
from pytask.sandbox.providers.monitor import alerts, inventory, query, tables, telemetry
from pytask.sandbox.providers.monitor.timespan import iso_z, parse_timespan

NOW = 1_800_000_000.0  # a fixed instant: generation depends on nothing else


def model(**overrides: Any) -> telemetry.WorkspaceModel:
    spec: dict[str, Any] = {
        "sampleSeconds": 1,
        "historySeconds": 600,
        "telemetry": {
            "default": {"requestsPerMinute": 600, "errorRate": 0.01},
            "versions": [
                {"application": "web", "version": "2.0.0", "errorRate": 0.10,
                 "latencyMs": {"median": 300}},
                {"application": "web", "heartbeat": True, "cpuPercent": {"mean": 50}},
            ],
        },
        "machines": [
            {"computer": "vm-1", "versions": [
                {"application": "web", "version": "1.0.0", "since": -600},
                {"application": "web", "version": "2.0.0", "since": -300},
            ]},
        ],
        **overrides,
    }  # fmt: skip
    return telemetry.parse_workspace_model(spec, "sub", NOW)


def build(m: telemetry.WorkspaceModel, start: float, end: float) -> Any:
    machines = [inventory.machine_from_declaration(d, m) for d in m.machines]
    return tables.build(machines, m, tables.Window(start, end))


def rows(con: Any, kql: str) -> list[tuple[Any, ...]]:
    return list(duckdb_kql.kql(con, kql).fetchall())


def test_model_lookup_prefers_version_then_application_then_default() -> None:
    m = model()
    assert m.model_for("web", "2.0.0").error_rate == 0.10
    assert m.model_for("web", "1.0.0").cpu_mean == 50  # application-wide entry
    assert m.model_for("other", "1").error_rate == 0.01  # default
    assert telemetry.WorkspaceModel.from_json(m.to_json()) == m


def test_bad_model_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="errorRate"):
        telemetry.parse_version_model({"errorRate": 2}, telemetry.VersionModel())


def test_declared_machine_history_is_split_at_each_version_change() -> None:
    m = model()
    machine = inventory.machine_from_declaration(m.machines[0], m)
    assert [(p.start - NOW, p.running[0].version) for p in machine.periods] == [
        (-600.0, "1.0.0"),
        (-300.0, "2.0.0"),
    ]
    assert math.isinf(machine.periods[-1].end)


def test_vm_provider_actions_set_versions_and_seeded_machines_get_history() -> None:
    m = model(machines=[])
    doc = {
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a",
        "type": "Microsoft.Compute/virtualMachines",
        "name": "a",
        "properties": {"osProfile": {"computerName": "a-host"}},
        "_os": "Linux",
        "_created": NOW - 1,
        "_apps": [
            {"application": "web", "version": "1.0.0", "package_reference_id": "p1",
             "operation": "Install", "start": NOW - 1, "duration": 1},
            {"application": "web", "version": "2.0.0", "package_reference_id": "p2",
             "operation": "Update", "start": NOW + 100, "duration": 30},
            {"application": "web", "version": "3.0.0", "package_reference_id": "p3",
             "operation": "Update", "start": NOW + 200, "duration": 30, "error": "exit 1"},
        ],
    }  # fmt: skip
    machine = inventory.machine_from_vm(doc, m)
    assert machine.computer == "a-host"
    # Seeded with the world: v1 ran through the history; v2 from the end of its update; the
    # failed v3 update changes nothing.
    assert [(p.start - NOW, [r.version for r in p.running]) for p in machine.periods] == [
        (-601.0, ["1.0.0"]),
        (130.0, ["2.0.0"]),
    ]


def test_scale_set_instances_report_their_scale_set() -> None:
    doc = {
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
        "virtualMachineScaleSets/ss/virtualMachines/3",
        "type": "Microsoft.Compute/virtualMachines",
        "_kind": "scaleSetVM",
        "_created": NOW + 50,
        "_apps": [],
        "properties": {"osProfile": {"computerName": "ss000003"}},
    }
    machine = inventory.machine_from_vm(doc, model(machines=[]))
    assert machine.resource_id.endswith("/virtualMachineScaleSets/ss")
    assert machine.periods[0].start == NOW + 50  # created after the seed: no history


def test_tables_follow_the_version_model_and_are_deterministic() -> None:
    m = model()
    con = build(m, NOW - 600, NOW)
    by_version = dict(
        (r[0], r[1:])
        for r in rows(
            con,
            "AppRequests | summarize n = count(), failed = countif(Success == false), "
            "p50 = percentile(DurationMs, 50) by AppVersion",
        )
    )
    n1, failed1, p50_1 = by_version["1.0.0"]
    n2, failed2, p50_2 = by_version["2.0.0"]
    assert n1 == pytest.approx(3000, abs=20) and n2 == pytest.approx(3000, abs=20)
    assert failed1 / n1 == pytest.approx(0.01, abs=0.006)
    assert failed2 / n2 == pytest.approx(0.10, abs=0.02)
    assert p50_1 == pytest.approx(120, rel=0.05) and p50_2 == pytest.approx(300, rel=0.05)
    again = build(m, NOW - 600, NOW)
    query_text = "AppRequests | summarize sum(DurationMs), countif(Success == false)"
    assert rows(con, query_text) == rows(again, query_text)


def test_rows_exist_only_inside_the_window() -> None:
    con = build(model(), NOW - 100, NOW - 40)
    (first, last, count), = rows(con, "Heartbeat | summarize min(TimeGenerated), "
                                      "max(TimeGenerated), count()")  # fmt: skip
    assert iso_z(first.timestamp()) == iso_z(NOW - 100)
    assert iso_z(last.timestamp()) == iso_z(NOW - 40)
    assert count == 61


def test_a_version_without_heartbeat_stops_heartbeats_but_not_perf() -> None:
    m = model(telemetry={"versions": [{"application": "web", "version": "2.0.0",
                                       "heartbeat": False}]})  # fmt: skip
    con = build(m, NOW - 600, NOW)
    (heartbeats,), = rows(con, "Heartbeat | count")  # fmt: skip
    (perf,), = rows(con, "Perf | count")  # fmt: skip
    assert heartbeats == 300 and perf == 601  # heartbeats only while 1.0.0 ran


def test_resource_centric_rows() -> None:
    con = build(model(), NOW - 60, NOW)
    tables.restrict_to_resource(con, "/subscriptions/sub/resourceGroups/rg-telemetry")
    assert rows(con, "Heartbeat | count")[0][0] == 61
    tables.restrict_to_resource(con, "/subscriptions/sub/resourceGroups/other")
    assert rows(con, "Heartbeat | count")[0][0] == 0


def test_query_result_has_typed_columns_and_iso_datetimes() -> None:
    con = build(model(), NOW - 60, NOW)
    result = query.run_kql(
        con,
        "Heartbeat | summarize n = count(), latest = max(TimeGenerated) by Computer"
        " | extend ok = true, r = 1.5",
        1000,
    )
    table = result.tables[0]
    assert table["name"] == "PrimaryResult"
    assert [(c["name"], c["type"]) for c in table["columns"]] == [
        ("Computer", "string"), ("n", "long"), ("latest", "datetime"), ("ok", "bool"),
        ("r", "real"),
    ]  # fmt: skip
    assert table["rows"] == [["vm-1", 61, iso_z(NOW), True, 1.5]]
    assert result.partial is None


def test_too_many_records_is_a_partial_result() -> None:
    con = build(model(), NOW - 60, NOW)
    result = query.run_kql(con, "AppRequests", 25)
    assert len(result.tables[0]["rows"]) == 25
    body = result.body()
    assert body["error"]["code"] == "PartialError"
    assert "record count limit 25" in body["error"]["details"][0]["innererror"]["message"]


@pytest.mark.parametrize(
    ("kql", "inner"),
    [
        ("Heartbeat | wherex", "SyntaxError"),
        ("NoSuchTable | take 1", "SemanticError"),
        ("Heartbeat | evaluate bag_unpack(x)", "SemanticError"),
    ],
)
def test_rejected_queries_answer_bad_argument(kql: str, inner: str) -> None:
    con = build(model(), NOW - 10, NOW)
    with pytest.raises(ArmError) as caught:
        query.run_kql(con, kql, 10)
    body = caught.value.body()["error"]
    assert caught.value.status == 400
    assert body["code"] == "BadArgumentError"
    assert body["innererror"]["code"] == inner
    assert body["innererror"]["innererror"]["message"]


def test_timespans() -> None:
    assert parse_timespan("PT1H", NOW) == (NOW - 3600, NOW)
    assert parse_timespan("P1DT2H30M", NOW) == (NOW - 95400, NOW)
    start, end = parse_timespan("2026-01-01T00:00:00Z/PT30M", NOW)
    assert end - start == 1800
    assert parse_timespan(f"{iso_z(NOW - 5)}/{iso_z(NOW)}", NOW) == (NOW - 5, NOW)


def test_alert_runs_fire_and_resolve() -> None:
    rule = telemetry.AlertRule("r", "errorRate", "GreaterThan", 0.05, window_seconds=10)
    windows = [("vm", "/id", b, v) for b, v in enumerate([0.0, 0.1, 0.2, 0.0, 0.3])]
    firings = alerts._runs(rule, "ws", windows)
    assert [(f.start, f.resolved) for f in firings] == [(20.0, 40.0), (50.0, None)]
    doc = alerts.document(firings[1], "sub")
    essentials = doc["properties"]["essentials"]
    assert (
        essentials["monitorCondition"] == "Fired"
        and "monitorConditionResolvedDateTime" not in essentials
    )
    assert alerts.document(firings[0], "sub")["properties"]["essentials"][
        "monitorCondition"] == "Resolved"  # fmt: skip


def test_generation_is_fast_enough_for_a_gate() -> None:
    m = model(machines=[{"computer": f"vm-{i}", "versions": [
        {"application": "web", "version": "1.0.0", "since": -600}]} for i in range(8)])  # fmt: skip
    began = time.perf_counter()
    con = build(m, NOW - 600, NOW)
    assert rows(con, "AppRequests | count")[0][0] > 40_000
    assert time.perf_counter() - began < 5.0


def test_more_than_200_queries_in_30_seconds_are_throttled() -> None:
    from pytask.sandbox.providers.monitor import logs

    caller = f"test-{time.time()}"
    for _ in range(logs.RATE_LIMIT):
        logs._throttle(caller)
    with pytest.raises(ArmError) as caught:
        logs._throttle(caller)
    assert caught.value.status == 429 and caught.value.code == "ThrottledError"
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 30
    logs._throttle(f"{caller}-other")  # limits are per caller
