"""Azure Monitor in the sandbox over the wire, through unmodified Azure clients: the Log
Analytics query API (LogsQueryClient), the metrics batch plane (MetricsClient), ARM metrics and
alerts, workspaces; shapes checked against the official REST examples."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from azure.core.exceptions import HttpResponseError
from azure.monitor.query import LogsQueryPartialResult, LogsQueryStatus

from pytask.cloud.session import CloudSession
from pytask.localrun import parse_connection
from tests.conftest import RunningSandbox, start_sandbox

EXAMPLES = Path(__file__).resolve().parent / "examples" / "monitor"
RG = "rg-mon"
VM = "web-1"
SEED = {
    "resourceGroups": [{"name": RG, "location": "eastus"}, {"name": "rg-other"}],
    "identity": {
        "principals": [
            {"name": "reader", "kind": "spnKey"},
            {"name": "outsider", "kind": "spnKey"},
        ],
        "roleAssignments": [
            {"principal": "reader", "role": "Reader", "scope": "/subscriptions/{subscriptionId}"},
            {"principal": "outsider", "role": "Reader",
             "scope": "/subscriptions/{subscriptionId}/resourceGroups/rg-other"},
        ],
    },
    "virtualMachines": [{"name": VM, "resourceGroup": RG}],
    "workspaces": [
        {
            "name": "law-mon",
            "resourceGroup": RG,
            "ingestionDelaySeconds": 500,  # 5 s at time scale 0.01
            "sampleSeconds": 1,
            "historySeconds": 300,
            "maxRecords": 1000,
            "telemetry": {
                "default": {"requestsPerMinute": 600},
                "versions": [{"application": "webapp", "errorRate": 0.5}],
            },
            "machines": [
                {
                    "computer": VM,
                    "resourceId": f"/subscriptions/{{subscriptionId}}/resourceGroups/{RG}/"
                    f"providers/Microsoft.Compute/virtualMachines/{VM}",
                    "versions": [{"application": "webapp", "version": "1.0.0", "since": -300}],
                }
            ],
            "alertRules": [
                {"name": "errors", "signal": "errorRate", "operator": "GreaterThan",
                 "threshold": 0.1, "windowSeconds": 30, "severity": 1},
            ],
        }
    ],
}  # fmt: skip


class Clients:
    def __init__(self, sandbox: RunningSandbox) -> None:
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle
        os.environ["SSL_CERT_FILE"] = sandbox.ca_bundle
        connection = parse_connection(sandbox.ready["connection"], sandbox.ready_file)
        self.sandbox = sandbox
        self.session = CloudSession.from_connection(connection)
        self.sub = str(sandbox["subscription_id"])
        self.arm = self.session.arm()
        self.group = f"/subscriptions/{self.sub}/resourceGroups/{RG}"
        self.vm = f"{self.group}/providers/Microsoft.Compute/virtualMachines/{VM}"
        workspace = self.arm.request(
            "GET", f"{self.group}/providers/Microsoft.OperationalInsights/workspaces/law-mon",
            "2023-09-01",
        )  # fmt: skip
        self.workspace = workspace
        self.workspace_id = str(workspace["properties"]["customerId"])

    def token(self, audience: str) -> str:
        return self.session.credential.get_token(audience.rstrip("/") + "/.default").token


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("monitor") / "state", seed=yaml.safe_dump(SEED), time_scale=0.01
    )
    try:
        yield Clients(sandbox)
    finally:
        sandbox.stop()


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def test_metadata_points_log_analytics_and_metrics_at_the_sandbox(clients: Clients) -> None:
    endpoints = clients.session.endpoints
    base = clients.sandbox.base_url
    assert endpoints.log_analytics == base
    assert endpoints.metrics_endpoint("East US") == f"{base}/metrics/eastus"


def test_workspace_has_the_arm_shape(clients: Clients) -> None:
    props = clients.workspace["properties"]
    assert clients.workspace["type"] == "Microsoft.OperationalInsights/workspaces"
    assert props["provisioningState"] == "Succeeded" and props["sku"]["name"] == "PerGB2018"
    listed = clients.arm.request(
        "GET", f"{clients.group}/providers/Microsoft.OperationalInsights/workspaces", "2023-09-01"
    )
    assert [w["name"] for w in listed["value"]] == ["law-mon"]


def test_query_workspace_through_logs_query_client(clients: Clients) -> None:
    with clients.session.logs() as logs:
        result = logs.query_workspace(
            clients.workspace_id,
            "AppRequests | summarize n = count(), failed = countif(Success == false) by AppVersion",
            timespan=timedelta(minutes=5),
        )
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert list(table.columns) == ["AppVersion", "n", "failed"]
    (version, n, failed), = [list(r) for r in table.rows]  # fmt: skip
    assert version == "1.0.0" and n > 1000 and 0.4 < failed / n < 0.6


def test_rows_appear_only_after_the_ingestion_delay(clients: Clients) -> None:
    with clients.session.logs() as logs:
        result = logs.query_workspace(
            clients.workspace_id, "Heartbeat | summarize latest = max(TimeGenerated)",
            timespan=None,
        )  # fmt: skip
    latest = result.tables[0].rows[0][0]
    lag = (datetime.now(timezone.utc) - latest).total_seconds()
    assert 5.0 <= lag < 15.0


def test_get_query_has_the_example_shape(clients: Clients) -> None:
    response = requests.get(
        f"{clients.sandbox.base_url}/v1/workspaces/{clients.workspace_id}/query",
        params={"query": "Heartbeat | take 2", "timespan": "PT1H"},
        headers={"Authorization": f"Bearer {clients.token(clients.sandbox.base_url)}"},
        verify=clients.sandbox.ca_bundle,
        timeout=30,
    )
    assert response.status_code == 200
    body = response.json()
    shape = example("oms-get-example.json")["responses"]["200"]["body"]
    assert set(body) == set(shape)
    assert set(body["tables"][0]) == set(shape["tables"][0])
    assert {"name", "type"} == set(body["tables"][0]["columns"][0])
    assert len(body["tables"][0]["rows"]) == 2


def test_resource_centric_query(clients: Clients) -> None:
    with clients.session.logs() as logs:
        mine = logs.query_resource(clients.vm, "Heartbeat | count", timespan=timedelta(hours=1))
        other = logs.query_resource(
            f"/subscriptions/{clients.sub}/resourceGroups/elsewhere", "Heartbeat | count",
            timespan=timedelta(hours=1),
        )  # fmt: skip
    assert mine.tables[0].rows[0][0] > 100
    assert other.tables[0].rows[0][0] == 0


def test_a_large_result_is_partial(clients: Clients) -> None:
    with clients.session.logs() as logs:
        result = logs.query_workspace(clients.workspace_id, "AppRequests", timespan=None)
    assert isinstance(result, LogsQueryPartialResult)
    assert result.status == LogsQueryStatus.PARTIAL
    assert len(result.partial_data[0].rows) == 1000
    assert result.partial_error is not None and result.partial_error.code == "PartialError"


def test_invalid_kql_is_a_bad_argument_error(clients: Clients) -> None:
    with clients.session.logs() as logs, pytest.raises(HttpResponseError) as caught:
        logs.query_workspace(clients.workspace_id, "Heartbeat | wherex", timespan=None)
    assert caught.value.status_code == 400
    assert "BadArgumentError" in str(caught.value) and "SyntaxError" in str(caught.value)


def test_tokens_for_another_audience_are_refused(clients: Clients) -> None:
    response = requests.post(
        f"{clients.sandbox.base_url}/v1/workspaces/{clients.workspace_id}/query",
        json={"query": "Heartbeat | take 1"},
        headers={"Authorization": f"Bearer {clients.token(clients.sandbox['arm_audience'])}"},
        verify=clients.sandbox.ca_bundle,
        timeout=30,
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidTokenError"
    assert error["innererror"]["code"] == "InvalidAudience"


@pytest.mark.parametrize(("name", "status"), [("reader", 200), ("outsider", 403)])
def test_queries_need_read_access_to_the_workspace(
    clients: Clients, name: str, status: int
) -> None:
    from azure.identity import ClientSecretCredential

    principal = clients.sandbox["principals"][name]
    credential = ClientSecretCredential(
        clients.sandbox["tenant_id"], principal["client_id"], principal["secret"],
        authority=clients.sandbox["authority_url"], disable_instance_discovery=True,
    )  # fmt: skip
    token = credential.get_token(clients.sandbox.base_url + "/.default").token
    response = requests.post(
        f"{clients.sandbox.base_url}/v1/workspaces/{clients.workspace_id}/query",
        json={"query": "Heartbeat | count"},
        headers={"Authorization": f"Bearer {token}"},
        verify=clients.sandbox.ca_bundle,
        timeout=30,
    )
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"]["code"] == "InsufficientAccessError"


def test_unknown_workspace(clients: Clients) -> None:
    with clients.session.logs() as logs, pytest.raises(HttpResponseError) as caught:
        logs.query_workspace("00000000-0000-0000-0000-000000000000", "Heartbeat", timespan=None)
    assert caught.value.status_code == 404


def test_metrics_batch_through_metrics_client(clients: Clients) -> None:
    with clients.session.metrics("eastus") as metrics:
        results = metrics.query_resources(
            resource_ids=[clients.vm],
            metric_namespace="Microsoft.Compute/virtualMachines",
            metric_names=["Percentage CPU", "VmAvailabilityMetric"],
            timespan=timedelta(minutes=4),
            granularity=timedelta(minutes=1),
            aggregations=["Average", "Maximum"],
        )
    (result,) = results
    cpu, availability = result.metrics
    averages = [p.average for s in cpu.timeseries for p in s.data if p.average is not None]
    assert cpu.unit == "Percent" and 25 < sum(averages) / len(averages) < 45
    assert all(p.maximum >= p.average for s in cpu.timeseries for p in s.data if p.average)
    assert {p.average for s in availability.timeseries for p in s.data if p.average} == {1.0}


def test_metrics_batch_checks_region_and_metric(clients: Clients) -> None:
    with clients.session.metrics("westus2") as metrics, pytest.raises(HttpResponseError) as c:
        metrics.query_resources(
            resource_ids=[clients.vm],
            metric_namespace="Microsoft.Compute/virtualMachines",
            metric_names=["Percentage CPU"],
        )
    assert c.value.status_code == 400 and "region" in str(c.value)
    with pytest.raises(HttpResponseError) as caught:
        clients.arm.request(
            "GET",
            f"{clients.vm}/providers/Microsoft.Insights/metrics?metricnames=Nope",
            "2024-02-01",
        )
    assert "Failed to find metric configuration" in str(caught.value)


def test_arm_metrics_have_the_example_shape(clients: Clients) -> None:
    body = clients.arm.request(
        "GET",
        f"{clients.vm}/providers/Microsoft.Insights/metrics?metricnames=Percentage%20CPU"
        "&aggregation=average,minimum&interval=PT1M",
        "2024-02-01",
    )
    shape = example("GetMetric.json")["responses"]["200"]["body"]
    assert set(body) == set(shape)
    metric, shape_metric = body["value"][0], shape["value"][0]
    assert set(shape_metric) - {"errorCode"} <= set(metric)
    assert metric["name"]["value"] == "Percentage CPU"
    points = metric["timeseries"][0]["data"]
    assert all("timeStamp" in p for p in points)
    assert any({"average", "minimum"} <= set(p) for p in points)  # empty grains: timeStamp only


def test_alerts_fire_from_the_seeded_rule(clients: Clients) -> None:
    body = clients.arm.request(
        "GET",
        f"/subscriptions/{clients.sub}/providers/Microsoft.AlertsManagement/alerts"
        f"?targetResource={clients.vm}&severity=Sev1",
        "2019-03-01",
    )
    alerts = body["value"]
    assert alerts, "the 50 % error rate breaches the 10 % rule in every window"
    shape = example("Alerts_List.json")["responses"]["200"]["body"]["value"][0]
    assert set(alerts[0]) == set(shape)
    essentials = alerts[0]["properties"]["essentials"]
    assert set(essentials) <= set(shape["properties"]["essentials"])
    assert essentials["targetResource"].lower() == clients.vm.lower()
    assert essentials["monitorCondition"] == "Fired" and essentials["severity"] == "Sev1"
    none = clients.arm.request(
        "GET",
        f"/subscriptions/{clients.sub}/providers/Microsoft.AlertsManagement/alerts?severity=Sev0",
        "2019-03-01",
    )
    assert none["value"] == []


def test_gate_metric_source_reads_through_arm_where_no_metrics_plane_exists(
    clients: Clients,
) -> None:
    """Azure Stack Hub publishes no regional metrics endpoint: HealthGate's metric source falls
    back to ARM's Metrics_List, one call per target, and sees the same values."""
    from dataclasses import replace

    from pytask.gate import resolve_check
    from pytask.tasks.healthgate.limits import QueryLimiter
    from pytask.tasks.healthgate.scope import Target, candidate
    from pytask.tasks.healthgate.sources import Sources

    check = resolve_check(
        {"name": "cpu", "source": {"kind": "metric", "metric": "Percentage CPU"},
         "rule": {"threshold": "< 90", "aggregate": "mean"}}
    )  # fmt: skip
    target = Target(clients.vm, "Microsoft.Compute/virtualMachines", "eastus", (VM,))
    now = datetime.now(timezone.utc) - timedelta(seconds=10)  # every row already ingested
    scope = candidate(now - timedelta(minutes=3), now, [target])
    readings = []
    for template in (clients.session.endpoints.metrics_template, None):
        session = replace(
            clients.session, endpoints=replace(clients.session.endpoints, metrics_template=template)
        )
        limiter = QueryLimiter()
        readings.append(Sources(session, None, limiter).read(check, scope, (scope.start, now)))
        assert limiter.counts["metrics"] == 1
    batch, arm = (r.measurement.series for r in readings)
    assert batch == arm and len(arm) >= 3 and all(20 < v < 50 for v in arm if v is not None)
