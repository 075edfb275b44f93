"""HealthGate@1 end to end: `pytask run HealthGate` against a sandbox whose workspace
generates telemetry per application version. One sandbox serves every scenario, each on its
own pair of VMs: a healthy update, a version with more errors, a slower version, a version that
stops the heartbeat. Times are absolute, computed when the module's sandbox starts (not when
the module is imported: a whole-suite run imports it minutes earlier, and every candidate window
starts at the deployment, so it would hold minutes more rows than the scenarios are sized for),
so the scenarios do not depend on when the sandbox finished seeding."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.agent_env import run_pytask
from tests.helpers.vso import Output

RG = "rg-gate"
VMS = f"/subscriptions/{{subscriptionId}}/resourceGroups/{RG}/providers/" + (
    "Microsoft.Compute/virtualMachines"
)
PAIRS = {"healthy": "1.1.0", "errors": "2.0.0", "slow": "3.0.0", "silent": "4.0.0",
         "alerting": "2.0.0"}  # fmt: skip
# How long before the sandbox started v2 reached each pair (default: DEFAULT_LEAD). The silent
# version stopped heartbeats long enough ago to empty the 5-minute window. Alerts fire per
# tumbling 60 s window aligned to the minute, so the alerting pair needs three minutes of v2:
# that holds at least two whole windows, whatever the second at which the module starts.
DEFAULT_LEAD = 60
LEAD = {"silent": 400, "alerting": 180}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployed_at(now: datetime, pair: str = "") -> datetime:
    """When v2 started on a pair's VMs: by default one minute before the sandbox."""
    return now - timedelta(seconds=LEAD.get(pair, DEFAULT_LEAD))


def _machines(now: datetime) -> list[dict[str, Any]]:
    machines = []
    for prefix, version in PAIRS.items():
        since = deployed_at(now, prefix)
        for n in (1, 2):
            upgraded = n == 1 or prefix != "silent"  # only one silent machine
            versions = [
                {
                    "application": "webapp",
                    "version": "1.0.0",
                    "since": iso(now - timedelta(seconds=900)),
                }
            ]
            if upgraded:
                versions.append({"application": "webapp", "version": version, "since": iso(since)})
            machines.append({
                "computer": f"{prefix}-{n}",
                "resourceId": f"{VMS}/{prefix}-{n}",
                "versions": versions,
            })  # fmt: skip
    return machines


def seed(now: datetime) -> dict[str, Any]:
    return {
        "resourceGroups": [{"name": RG, "location": "eastus"}],
        "virtualMachines": [
            {"name": f"{prefix}-{n}", "resourceGroup": RG} for prefix in PAIRS for n in (1, 2)
        ],
        "workspaces": [
            {
                "name": "law-gate",
                "resourceGroup": RG,
                "ingestionDelaySeconds": 300,  # 3 s at time scale 0.01
                "sampleSeconds": 1,
                "historySeconds": 900,
                # The latency checks read ~1200 rows a side, 20 more a second as the module runs.
                "maxRecords": 5000,
                "telemetry": {
                    "default": {"requestsPerMinute": 600, "errorRate": 0.002},
                    "versions": [
                        {"application": "webapp", "version": "2.0.0", "errorRate": 0.02},
                        {"application": "webapp", "version": "3.0.0", "latencyMs": {"median": 170}},
                        {"application": "webapp", "version": "4.0.0", "heartbeat": False},
                    ],
                },
                "machines": _machines(now),
                "alertRules": [
                    {
                        # 600 requests a minute per machine: 2 % errors breach it in nearly every
                        # window, 0.2 % practically never (7+ errors where 1.2 are expected).
                        "name": "errors-over-1pc",
                        "signal": "errorRate",
                        "operator": "GreaterThan",
                        "threshold": 0.01,
                        "windowSeconds": 60,
                        "severity": "Sev1",
                    },
                ],
            }
        ],
    }


LATENCY_CHECK = {
    "name": "latency",
    "source": {
        "kind": "kql",
        "shape": "series",
        "query": "AppRequests | where TimeGenerated >= windowStart and TimeGenerated < windowEnd"
        " | where AppRoleInstance in~ (computers) | project TimeGenerated, value = DurationMs",
    },
    "rule": {"baseline": "continuous", "direction": "increase", "minEffect": 0.1,
             "minSamples": 20},
}  # fmt: skip
ERROR_LIMIT = {
    "name": "errorRateLimit",
    "preset": "errorRate",
    "rule": {"threshold": "< 0.05"},
}
P95_LIMIT = {
    "name": "latencyLimit",
    "source": {
        "kind": "kql",
        "query": "AppRequests | where TimeGenerated >= windowStart and TimeGenerated < windowEnd"
        " | where AppRoleInstance in~ (computers)"
        " | summarize value = percentile(DurationMs, 95)",
    },
    "rule": {"threshold": "< 1000"},
}
CPU_METRIC = {
    "name": "cpu",
    "source": {"kind": "metric", "metric": "Percentage CPU", "aggregation": "average"},
    "rule": {"threshold": "< 90", "aggregate": "mean"},
}
ALERTS = {"name": "alerts", "source": {"kind": "alerts", "severity": ["Sev0", "Sev1"]},
          "rule": {"threshold": "== 0"}}  # fmt: skip


@dataclass
class GateWorld:
    sandbox: RunningSandbox
    workspace_id: str
    now: datetime  # when the sandbox was seeded
    deployed: datetime  # when v2 started on the scenario VMs (all but LEAD's pairs)

    def vm(self, name: str) -> str:
        sub = self.sandbox["subscription_id"]
        return f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{name}"  # noqa: E501

    def run(self, pair: str, checks: list[Any], **inputs: str) -> tuple[Output, dict[str, Any]]:
        values = {
            "targets": json.dumps([self.vm(f"{pair}-1"), self.vm(f"{pair}-2")]),
            "workspace": self.workspace_id,
            "checks": yaml.safe_dump(checks),
            "deploymentStartTime": iso(deployed_at(self.now, pair)),
            "initialDelaySeconds": "0",
            "intervalSeconds": "1",
            "durationMinutes": "1",
            "consecutiveSuccessesToPass": "2",
            **inputs,
        }
        code, out, stderr = run_pytask(
            "HealthGate", connection=self.sandbox.ready_file, inputs=values
        )
        assert code == 0, stderr
        report_path = out.outputs.get("report")
        assert report_path, f"no report output:\n{stderr}\n{out.plain}"
        return out, json.loads(Path(report_path).read_text())


def _workspace_id(sandbox: RunningSandbox) -> str:
    from tests.e2e.test_health_gate_helpers import arm_get

    path = (
        f"/subscriptions/{sandbox['subscription_id']}/resourceGroups/{RG}/providers/"
        "Microsoft.OperationalInsights/workspaces/law-gate"
    )
    return str(arm_get(sandbox, path, "2023-09-01")["properties"]["customerId"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateWorld]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("gate") / "state", seed=yaml.safe_dump(seed(now)), time_scale=0.01
    )
    try:
        yield GateWorld(sandbox, _workspace_id(sandbox), now, deployed_at(now))
    finally:
        sandbox.stop()


def _check(report: Mapping[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def test_healthy_version_passes(world: GateWorld) -> None:
    out, report = world.run(
        "healthy", ["heartbeat", "errorRate", LATENCY_CHECK, CPU_METRIC, ALERTS]
    )
    assert out.result == "Succeeded", out.plain
    assert out.outputs["verdict"] == "Passed"
    assert json.loads(out.outputs["failedChecks"]) == []
    assert report["verdict"]["reason"].startswith("2 consecutive intervals passed")
    assert _check(report, "errorRate")["results"][0]["explanation"]["baselineSamples"] > 500
    assert report["queries"]["logs"] >= 5 and report["queries"]["metrics"] >= 1


def test_higher_error_rate_fails_on_baseline_under_the_absolute_limit(world: GateWorld) -> None:
    out, report = world.run("errors", [ERROR_LIMIT, "errorRate"])
    assert out.result == "Failed"
    assert out.outputs["verdict"] == "Failed"
    assert json.loads(out.outputs["failedChecks"]) == ["errorRate"]
    assert _check(report, "errorRateLimit")["timeline"] == ["Pass"]  # 2 % is under 5 %
    explanation = _check(report, "errorRate")["results"][0]["explanation"]
    assert explanation["pValue"] < 0.05 and explanation["effect"] > 0.005
    assert any("significant regression" in line for line in out.plain)


def test_higher_latency_fails_on_baseline_under_the_absolute_limit(world: GateWorld) -> None:
    out, report = world.run("slow", [P95_LIMIT, LATENCY_CHECK])
    assert out.result == "Failed"
    assert json.loads(out.outputs["failedChecks"]) == ["latency"]
    assert _check(report, "latencyLimit")["timeline"] == ["Pass"]
    explanation = _check(report, "latency")["results"][0]["explanation"]
    assert explanation["effect"] > 0.1 and explanation["method"] == "asymptotic"


def test_missing_heartbeat_fails_a_critical_check_at_once(world: GateWorld) -> None:
    out, report = world.run("silent", ["heartbeat", "errorRate"], durationMinutes="5")
    assert out.result == "Failed"
    assert report["verdict"]["reason"] == "critical check 'heartbeat' failed"
    assert report["verdict"]["decidedAt"] == 1 and report["verdict"]["intervals"] == 1
    assert _check(report, "heartbeat")["results"][0]["explanation"]["value"] == 1


def test_alerts_fired_on_the_targets_fail_their_check(world: GateWorld) -> None:
    out, report = world.run("alerting", [ALERTS])
    assert out.result == "Failed"
    assert _check(report, "alerts")["results"][0]["explanation"]["value"] >= 1


def test_no_data_at_first_then_data_after_the_ingestion_delay(world: GateWorld) -> None:
    # The deployment starts a little ahead, so the task is waiting for it however slowly it
    # starts; its first look is 1 s later: a second of requests exists then, but rows show
    # only 3 s (the scaled ingestion delay) after they happen. A late start still has until
    # `started + 3 s` before rows show.
    started = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=5)
    check = {"name": "errorRate", "preset": "errorRate",
             "rule": {"baseline": "rate", "minSamples": 1, "noData": "inconclusive"}}  # fmt: skip
    out, report = world.run(
        "healthy",
        [check],
        deploymentStartTime=iso(started),
        initialDelaySeconds="1",
        inconclusiveLimit="10",
        consecutiveSuccessesToPass="1",
    )
    timeline = _check(report, "errorRate")["timeline"]
    assert timeline[0] == "NoData", timeline
    assert timeline[-1] == "Pass", timeline
    assert out.result in ("Succeeded", "SucceededWithIssues")


def test_a_partial_result_is_used_and_the_verdict_says_data_was_incomplete(
    world: GateWorld,
) -> None:
    everything = {
        "name": "allDurations",  # no time filter: more rows than the workspace returns
        "source": {"kind": "kql", "shape": "series",
                   "query": "AppRequests | project TimeGenerated, value = DurationMs"},
        "rule": {"threshold": "< 100000", "aggregate": "max"},
    }  # fmt: skip
    out, report = world.run("healthy", [everything], consecutiveSuccessesToPass="1")
    assert out.result == "SucceededWithIssues"  # passed, but on incomplete data
    assert report["verdict"]["dataIncomplete"] is True
    assert "incomplete" in report["verdict"]["reason"]
    assert any("record count limit 5000" in w for w in out.warnings)
    assert _check(report, "allDurations")["results"][0]["explanation"]["candidateSamples"] == 5000


def test_dry_run_never_fails(world: GateWorld) -> None:
    out, report = world.run("errors", ["errorRate"], mode="dryRun", durationMinutes="0")
    assert out.result in ("Succeeded", "SucceededWithIssues")
    assert out.outputs["verdict"] == "Failed"  # what the gate found
    assert report["verdict"]["wouldBe"] == "Failed" and report["verdict"]["dryRun"] is True
    assert any("in enforce mode the task would be Failed" in w for w in out.warnings)


def test_throttling_is_survived(world: GateWorld) -> None:
    world.sandbox.set_faults(
        "rules:\n  - {name: la-throttle, path: '^/v1/workspaces/', count: 3, inject: status,"
        " status: 429, retry_after: 1, code: ThrottledError}\n"
    )
    try:
        out, _ = world.run("healthy", ["errorRate"])
    finally:
        fired = [f for f in world.sandbox.faults_log() if f["rule"] == "la-throttle"]
        world.sandbox.clear_faults()
    assert len(fired) == 3
    assert out.result == "Succeeded", out.plain
    assert out.outputs["verdict"] == "Passed"


def test_replay_of_a_past_window_needs_no_waiting(world: GateWorld) -> None:
    _, report = world.run(
        "errors",
        ["errorRate"],
        windowStart=iso(world.deployed),
        windowEnd=iso(world.deployed + timedelta(seconds=40)),
        intervalSeconds="10",
        initialDelaySeconds="10",
        consecutiveSuccessesToPass="0",  # small early samples pass; no early pass on them
        mode="dryRun",
    )
    assert report["evaluations"][0] == iso(world.deployed + timedelta(seconds=10))
    assert len(report["evaluations"]) == 4  # +10, +20, +30, +40 s: the dry run goes on
    assert report["verdict"]["wouldBe"] == "Failed", report["checks"][0]["timeline"]


def test_a_query_log_analytics_rejects_fails_the_task_with_its_reason(world: GateWorld) -> None:
    bad = {"name": "broken", "source": {"kind": "kql", "query": "AppRequests | wherex"},
           "rule": {"threshold": "< 1"}}  # fmt: skip
    code, out, _ = run_pytask(
        "HealthGate",
        connection=world.sandbox.ready_file,
        inputs={
            "targets": world.vm("healthy-1"),
            "workspace": world.workspace_id,
            "checks": yaml.safe_dump([bad]),
            "initialDelaySeconds": "0",
        },
    )
    assert code == 0 and out.result == "Failed"
    assert any("rejected the query" in e and "SyntaxError" in e for e in out.errors)
