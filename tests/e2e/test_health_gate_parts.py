"""HealthGate's pure parts, without Azure: check parsing, the query limiter, the evaluation
schedule (live and replay), scope parameters, partial-error notes."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from pytask.agent import TaskError
from pytask.gate import RunPolicy
from pytask.gate.kql import with_parameters
from pytask.tasks.healthgate.limits import QueryLimiter
from pytask.tasks.healthgate.run import Gate
from pytask.tasks.healthgate.scope import Target, candidate, previous_window
from pytask.tasks.healthgate.sources import _partial_note, parse_interval
from pytask.tasks.healthgate.spec import GateSpec, Workspace, parse_checks
from pytask.tasks.resource_ids import parse_targets

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1"


def test_checks_from_presets_and_mappings() -> None:
    specs = parse_checks(
        "- heartbeat\n- {preset: errorRate, name: errLimit, rule: {threshold: '< 0.02'}}\n"
        "- {name: cpu, source: {kind: metric, metric: Percentage CPU}, "
        "rule: {threshold: '< 90'}}\n",
        "checks",
    )
    assert [(s.name, s.source) for s in specs] == [
        ("heartbeat", "kql"), ("errLimit", "kql"), ("cpu", "metric"),
    ]  # fmt: skip
    assert specs[0].critical is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- nosuchpreset", "unknown preset"),
        ("- {name: m, source: {kind: metric}, rule: {threshold: '< 1'}}", "needs 'metric'"),
        ("- {name: a, source: {kind: alerts}, rule: {baseline: rate}}", "threshold rule"),
        ("- {preset: errorRate, typo: 1}", "unknown check key"),
        ("- {preset: latencyP95, rule: {baseline: rate}}", "counts-shaped"),
        ("heartbeat: true", "expected a YAML list"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_bad_checks_are_named(text: str, problem: str) -> None:
    with pytest.raises(TaskError, match=problem):
        parse_checks(text, "checks")


def test_targets_from_lines_or_json_without_duplicates() -> None:
    assert parse_targets([VM, VM.upper() + "/", ""]) == [VM]
    assert parse_targets([f'["{VM}", "{VM}"]']) == [VM]


def test_malformed_json_targets_are_an_input_error_not_a_crash() -> None:
    with pytest.raises(TaskError, match="targets: not a valid JSON array"):
        parse_targets([f'["{VM}",'])


def test_scope_parameters_are_let_literals_never_pasted_text() -> None:
    target = Target(VM, "Microsoft.Compute/virtualMachines", "eastus", ('web-1"; drop',))
    scope = candidate(T0, T0 + timedelta(minutes=5), [target])
    text = with_parameters("Heartbeat | where Computer in~ (computers)", scope.kql_parameters())
    assert 'let computers = dynamic(["web-1\\"; drop"]);' in text
    assert "let windowStart = datetime(2026-11-26T03:00:00.000000Z);" in text
    baseline = previous_window(T0, T0 + timedelta(minutes=5), [target])
    assert (baseline.start, baseline.end) == (T0 - timedelta(minutes=5), T0)


def _spec(**changes: Any) -> GateSpec:
    values: dict[str, Any] = {
        "targets": [VM],
        "deployment_start": T0,
        "workspace": Workspace("00000000-0000-0000-0000-000000000000"),
        "checks": parse_checks("- heartbeat", "checks"),
        "initial_delay": 60.0,
        "interval": 30.0,
        "policy": RunPolicy.for_soak(5, 30),
        "window_start": None,
        "window_end": None,
        **changes,
    }
    return GateSpec(**values)


def _gate(spec: GateSpec, now: datetime) -> Gate:
    return Gate(ctx=None, spec=spec, sources=None, targets=[], baseline_targets={},  # type: ignore[arg-type]
                now=lambda: now)  # fmt: skip


def test_live_schedule_waits_the_initial_delay_or_starts_now() -> None:
    policy, times = _gate(_spec(), now=T0).schedule(T0)
    assert policy.intervals == 10
    assert times[0] == T0 + timedelta(seconds=60) and times[1] - times[0] == timedelta(seconds=30)
    late = T0 + timedelta(hours=1)
    _, times = _gate(_spec(), now=late).schedule(T0)
    assert times[0] == late  # the delay has long passed


def test_replay_schedule_covers_the_window() -> None:
    spec = _spec(window_start=T0, window_end=T0 + timedelta(minutes=10))
    policy, times = _gate(spec, now=T0 + timedelta(days=1)).schedule(T0)
    assert policy.intervals == 19  # +60 s ... +600 s every 30 s
    assert times[0] == T0 + timedelta(seconds=60) and times[-1] == T0 + timedelta(minutes=10)


def test_limiter_keeps_five_at_once() -> None:
    limiter = QueryLimiter()
    barrier = threading.Barrier(5, timeout=5)

    def query() -> None:
        with limiter.slot("logs"):
            time.sleep(0.05)

    def first_five() -> None:
        barrier.wait()
        query()

    threads = [threading.Thread(target=first_five) for _ in range(5)]
    threads += [threading.Thread(target=query) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter.peak == 5 and limiter.total == 20


def test_limiter_waits_for_the_rate_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = QueryLimiter(per_window=3, window=30.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        with limiter.slot("logs"):
            pass
    assert slept == [30.0]


def test_intervals_and_partial_notes() -> None:
    assert parse_interval("PT5M") == timedelta(minutes=5)
    assert parse_interval("P1DT1H") == timedelta(days=1, hours=1)
    with pytest.raises(ValueError):
        parse_interval("5m")

    partial = SimpleNamespace(
        message="There were some errors when processing your query.",
        details=[{"code": "EngineError", "message": "Something went wrong",
                  "innererror": {"message": "record count limit 5000 records"}}],
    )  # fmt: skip
    assert _partial_note(partial) == "record count limit 5000 records"
