"""Azure Monitor in the sandbox: one provider serving

- ARM: Microsoft.OperationalInsights workspaces, Microsoft.Insights metrics (`Metrics_List`),
  Microsoft.AlertsManagement alerts (`Alerts_GetAll`);
- data planes on the same host: the Log Analytics query API under `/v1` (the metadata's
  `logAnalyticsResourceId` is this server) and the regional metrics endpoint
  `https://{region}.metrics.monitor.azure.com` mapped to the path prefix `/metrics/{region}`
  (published as `metricsEndpointTemplate`).
"""

from __future__ import annotations

from collections.abc import Callable

from pytask.sandbox.core import Provider, Route
from pytask.sandbox.core.provider import Runtime

from . import alerts, logs, metrics, responses, seed, workspaces

WORKSPACE_API_VERSIONS = ("2020-08-01", "2021-06-01", "2022-10-01", "2023-09-01", "2025-02-01")
METRICS_API_VERSIONS = ("2018-01-01", "2021-05-01", "2023-10-01", "2024-02-01")
ALERTS_API_VERSIONS = ("2019-03-01", "2019-05-05-preview", "2023-07-12-preview")

_SUB = "/subscriptions/{subscriptionId}"
_RG = _SUB + "/resourceGroups/{resourceGroupName}"
_WS_TYPE = "Microsoft.OperationalInsights/workspaces"
WORKSPACES = _RG + "/providers/Microsoft.OperationalInsights/workspaces"
WORKSPACE = WORKSPACES + "/{workspaceName}"
_W = "workspaces"


def _ws(verb: str) -> str:
    return f"{_WS_TYPE}/{verb}"


ROUTES = (
    Route("PUT", WORKSPACE, responses.put_workspace, _W, "Workspaces_CreateOrUpdate",
          action=_ws("write")),
    Route("GET", WORKSPACE, responses.get_workspace, _W, "Workspaces_Get", action=_ws("read")),
    Route("DELETE", WORKSPACE, responses.delete_workspace, _W, "Workspaces_Delete",
          action=_ws("delete")),
    Route("GET", WORKSPACES, responses.list_workspaces, _W, "Workspaces_ListByResourceGroup",
          action=_ws("read")),
    Route("GET", _SUB + "/providers/Microsoft.OperationalInsights/workspaces",
          responses.list_workspaces, _W, "Workspaces_List", action=_ws("read")),
    # Log Analytics query data plane: its own audience, checked by the handlers.
    Route("GET", "/v1/workspaces/{workspaceId}/query", logs.query_workspace, None,
          "Query_Get", auth="none"),
    Route("POST", "/v1/workspaces/{workspaceId}/query", logs.query_workspace, None,
          "Query_Execute", auth="none"),
    Route("GET", "/v1/{*resourceId}/query", logs.query_resource, None,
          "Query_ResourceGet", auth="none"),
    Route("POST", "/v1/{*resourceId}/query", logs.query_resource, None,
          "Query_ResourceExecute", auth="none"),
    # Metrics: through ARM, and the regional batch data plane.
    Route("GET", "/{*resourceUri}/providers/Microsoft.Insights/metrics", metrics.list_metrics,
          "metrics", "Metrics_List", action="Microsoft.Insights/metrics/read"),
    Route("POST", "/metrics/{region}/subscriptions/{subscriptionId}/metrics:getBatch",
          metrics.get_batch, None, "MetricsBatch_Batch", auth="none"),
    # Alerts fired by the seeded alert rules.
    Route("GET", _SUB + "/providers/Microsoft.AlertsManagement/alerts", alerts.list_alerts,
          "alerts", "Alerts_GetAll", action="Microsoft.AlertsManagement/alerts/read"),
)  # fmt: skip


def on_start(runtime: Runtime) -> Callable[[], None] | None:
    """Publish this server as the cloud's Log Analytics endpoint and audience, and the
    regional metrics endpoint template, in /metadata/endpoints."""
    base = runtime.world.endpoints["base_url"]
    runtime.world.endpoints.update(
        {
            "log_analytics_url": base,
            "log_analytics_audience": base,
            "metrics_template": f"{base}/metrics/{{region}}",
            "metrics_audience": metrics.SANDBOX_AUDIENCE,
        }
    )
    return None


PROVIDER = Provider(
    namespace=workspaces.NAMESPACE,
    routes=ROUTES,
    api_versions={
        _W: WORKSPACE_API_VERSIONS,
        "metrics": METRICS_API_VERSIONS,
        "alerts": ALERTS_API_VERSIONS,
    },
    initial_state=workspaces.initial_state,
    seed_key="workspaces",
    seed=seed.seed,
    seed_order=900,
    on_start=on_start,
)
