"""Presets run as written on duckdb-kql (the sandbox's engine) over generated standard tables,
scoped only through the `let` block; check resolution from YAML-like mappings."""

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb_kql
import numpy as np
import pytest

from pytask.gate import (
    PRESETS,
    SCOPE_PARAMETERS,
    BaselineRule,
    CheckResult,
    Classification,
    ThresholdRule,
    evaluate_check,
    measurement_from_rows,
    resolve_check,
    unavailable_result,
)
from pytask.gate.kql import kql_literal, let_block, with_parameters

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
STABLE, CANARY = ["vm-a", "vm-b"], ["vm-c", "vm-d"]


@pytest.fixture(scope="module")
def con() -> Any:
    rng = np.random.default_rng(0)
    con = duckdb_kql.connect()
    con.sql(
        "CREATE TABLE Heartbeat (TimeGenerated TIMESTAMP, Computer VARCHAR, _ResourceId VARCHAR)"
    )
    con.sql(
        "CREATE TABLE AppRequests (TimeGenerated TIMESTAMP, Success BOOLEAN, DurationMs DOUBLE, "
        "ResultCode VARCHAR, _ResourceId VARCHAR, AppRoleInstance VARCHAR)"
    )
    con.sql(
        "CREATE TABLE Perf (TimeGenerated TIMESTAMP, Computer VARCHAR, ObjectName VARCHAR, "
        "CounterName VARCHAR, CounterValue DOUBLE, _ResourceId VARCHAR)"
    )
    naive = T0.replace(tzinfo=None)
    heartbeats, requests, perf = [], [], []
    for minute in range(20):
        at = naive + timedelta(minutes=minute)
        for vm in STABLE + CANARY:
            if not (vm == "vm-d" and minute >= 12):  # vm-d stops sending heartbeats
                heartbeats.append((at, vm.upper(), f"/subscriptions/s/vms/{vm}"))
            perf.append((at, vm, "Processor", "% Processor Time", 40 + rng.normal(0, 5), vm))
            canary = vm in CANARY
            for _ in range(60):
                failed = rng.random() < (0.02 if canary else 0.002)
                duration = rng.lognormal(np.log(180 if canary else 120), 0.25)
                requests.append((at, not failed, duration, "500" if failed else "200", "ai", vm))
    con.executemany("INSERT INTO Heartbeat VALUES (?, ?, ?)", heartbeats)
    con.executemany("INSERT INTO AppRequests VALUES (?, ?, ?, ?, ?, ?)", requests)
    con.executemany("INSERT INTO Perf VALUES (?, ?, ?, ?, ?, ?)", perf)
    return con


def query_rows(con: Any, query: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    relation = duckdb_kql.kql(con, with_parameters(query, parameters))
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def scope(computers: list[str], end_minute: int = 20) -> dict[str, Any]:
    return {
        "windowStart": T0,
        "windowEnd": T0 + timedelta(minutes=end_minute),
        "computers": computers,
        "resourceIds": [f"/subscriptions/s/vms/{c}" for c in computers],
    }


def run_check(
    con: Any, name: str, computers: list[str], baseline: list[str] | None = None
) -> CheckResult:
    spec = PRESETS[name]
    assert spec.query is not None
    candidate = measurement_from_rows(spec.shape, query_rows(con, spec.query, scope(computers)))
    base = None
    if baseline is not None:
        base = measurement_from_rows(spec.shape, query_rows(con, spec.query, scope(baseline)))
    return evaluate_check(spec, candidate, base)


def test_every_preset_uses_only_scope_parameters() -> None:
    assert set(PRESETS) == {"heartbeat", "errorRate", "latencyP95", "cpu"}
    for spec in PRESETS.values():
        assert spec.query is not None and spec.source == "kql"
        assert any(p in spec.query for p in SCOPE_PARAMETERS)
        assert "{" not in spec.query and "%s" not in spec.query  # no templating of values


def test_heartbeat_fails_when_a_target_went_silent(con: Any) -> None:
    assert run_check(con, "heartbeat", STABLE).classification is Classification.PASS
    silent = run_check(con, "heartbeat", CANARY)
    assert silent.classification is Classification.FAIL
    assert silent.critical
    assert silent.explanation.value == 1  # vm-d


def test_heartbeat_for_unknown_targets_counts_all_missing(con: Any) -> None:
    result = run_check(con, "heartbeat", ["nope-1", "nope-2"])
    assert result.explanation.value == 2
    assert result.classification is Classification.FAIL


def test_error_rate_and_latency_regressions_fail_against_stable(con: Any) -> None:
    errors = run_check(con, "errorRate", CANARY, baseline=STABLE)
    assert errors.classification is Classification.FAIL, errors.explanation.summary
    assert errors.explanation.candidate_samples == 20 * 60 * 2
    latency = run_check(con, "latencyP95", CANARY, baseline=STABLE)
    assert latency.classification is Classification.FAIL, latency.explanation.summary
    assert latency.explanation.candidate_samples == 20
    assert run_check(con, "errorRate", STABLE, baseline=CANARY).classification is (
        Classification.PASS
    )
    assert run_check(con, "latencyP95", ["vm-a"], baseline=["vm-b"]).classification is (
        Classification.PASS
    )


def test_cpu_threshold(con: Any) -> None:
    result = run_check(con, "cpu", STABLE)
    assert result.classification is Classification.PASS
    assert 30 < (result.explanation.value or 0) < 50


def test_scope_values_cannot_change_the_query(con: Any) -> None:
    hostile = ['vm-a") or true or ("', "vm-b\\", "x\ny"]
    spec = PRESETS["errorRate"]
    assert spec.query is not None
    rows = query_rows(con, spec.query, scope(hostile))
    assert rows == [{"events": 0, "total": 0}]


def test_let_block_literals() -> None:
    block = let_block(
        {
            "s": 'a"b\\c',
            "n": 3,
            "r": 0.25,
            "ok": True,
            "t": timedelta(minutes=5),
            "d": T0,
            "xs": ["a", "b"],
        }
    )
    assert block.splitlines() == [
        'let s = "a\\"b\\\\c";',
        "let n = long(3);",
        "let r = real(0.25);",
        "let ok = true;",
        "let t = 300s;",
        "let d = datetime(2026-11-26T02:00:00.000000Z);",
        'let xs = dynamic(["a", "b"]);',
    ]
    con = duckdb_kql.connect()
    row = duckdb_kql.kql(con, block + "\nprint s, n, r, ok, t, array_length(xs)").fetchall()[0]
    assert row == ('a"b\\c', 3, 0.25, True, timedelta(minutes=5), 2)
    for bad_name in ("1x", "a-b", "x; drop"):
        with pytest.raises(ValueError):
            let_block({bad_name: 1})
    with pytest.raises(ValueError):
        kql_literal(datetime(2026, 1, 1))  # naive datetime
    with pytest.raises(ValueError):
        kql_literal("bell\x07")
    with pytest.raises(ValueError):
        kql_literal(float("inf"))


def test_resolve_presets_and_overrides() -> None:
    assert resolve_check("heartbeat") is PRESETS["heartbeat"]
    stricter = resolve_check(
        {"preset": "errorRate", "name": "checkout", "rule": {"threshold": "< 0.01"}}
    )
    assert stricter.name == "checkout"
    assert stricter.query == PRESETS["errorRate"].query
    assert isinstance(stricter.rule, ThresholdRule)
    custom = resolve_check(
        {
            "name": "queue",
            "source": {"kind": "kql", "query": "Q | summarize value = count()", "shape": "value"},
            "rule": {"baseline": "continuous", "direction": "decrease"},
            "critical": True,
        }
    )
    assert custom.critical and custom.shape == "value"
    assert isinstance(custom.rule, BaselineRule)
    metric = resolve_check(
        {
            "name": "cpuMetric",
            "source": {"kind": "metric", "metric": "Percentage CPU", "aggregation": "Average"},
            "rule": {"threshold": "< 80"},
        }
    )
    assert metric.source == "metric" and metric.query is None
    assert dict(metric.options) == {"metric": "Percentage CPU", "aggregation": "Average"}


@pytest.mark.parametrize(
    "item",
    [
        "nosuchpreset",
        {"name": "x", "source": "kql"},  # no rule
        {"name": "x", "source": "kql", "rule": {"threshold": "< 1"}},  # no query
        {"name": "x", "source": "sql", "query": "q", "rule": {"threshold": "< 1"}},
        {"preset": "cpu", "critcal": True},  # typo
        {"preset": "cpu", "shape": "table"},
    ],
)
def test_resolve_rejects(item: Any) -> None:
    with pytest.raises(ValueError):
        resolve_check(item)


def test_counts_rows_feed_a_threshold_as_a_rate() -> None:
    spec = resolve_check({"preset": "errorRate", "rule": {"threshold": "< 0.01"}})
    measurement = measurement_from_rows("counts", [{"events": 3, "total": 1000}])
    result = evaluate_check(spec, measurement)
    assert result.classification is Classification.PASS
    assert result.explanation.value == pytest.approx(0.003)
    empty = evaluate_check(spec, measurement_from_rows("counts", [{"events": 0, "total": 0}]))
    assert empty.classification is Classification.NO_DATA


def test_unavailable_source_is_inconclusive_and_marked_incomplete() -> None:
    result = unavailable_result(PRESETS["heartbeat"], "429 after 5 retries")
    assert result.classification is Classification.INCONCLUSIVE
    assert result.critical and result.data_incomplete
    assert result.explanation.summary == "source unavailable: 429 after 5 retries"
