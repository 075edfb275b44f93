"""The `workspaces:` seed section: Log Analytics workspaces through ARM's own PUT, each with
the telemetry model its tables, metrics and alerts are generated from.

```yaml
workspaces:
  - name: law-app
    resourceGroup: rg-app
    location: eastus
    ingestionDelaySeconds: 90     # real-Azure seconds (scaled by --time-scale)
    sampleSeconds: 60             # cadence of generated rows, real seconds (not scaled)
    historySeconds: 3600          # telemetry before the seed, for machines seeded with it
    maxRecords: 500000            # rows a query returns before it is a partial result
    telemetry:
      default: {requestsPerMinute: 60, errorRate: 0.002, latencyMs: {median: 120, sigma: 0.25},
                cpuPercent: {mean: 35, sd: 5}, heartbeat: true}
      versions:                   # per application (and version); unset fields from default
        - {application: webapp, version: "2.0.0", errorRate: 0.03}
    machines:                     # optional: machines that are not sandbox VMs
      - computer: web-1
        resourceId: /subscriptions/{subscriptionId}/resourceGroups/rg-app/providers/...
        versions:                 # since: ISO 8601, or seconds relative to the seed (-600)
          - {application: webapp, version: "1.0.0", since: -3600}
          - {application: webapp, version: "2.0.0", since: "2026-11-26T03:00:00Z"}
    alertRules:
      - {name: high-errors, signal: errorRate, operator: GreaterThan, threshold: 0.05,
         windowSeconds: 300, severity: Sev1}
```
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core.provider import Seeder

from . import workspaces
from .telemetry import parse_workspace_model

API_VERSION = "2023-09-01"
_KNOWN = {
    "name",
    "resourceGroup",
    "location",
    "tags",
    "sku",
    "retentionInDays",
    "ingestionDelaySeconds",
    "sampleSeconds",
    "historySeconds",
    "maxRecords",
    "telemetry",
    "machines",
    "alertRules",
}


def seed(seeder: Seeder, spec: Any) -> None:
    if not isinstance(spec, list):
        raise ValueError("seed: 'workspaces' must be a list")
    for item in spec:
        _seed_one(seeder, item)


def _seed_one(seeder: Seeder, item: Mapping[str, Any]) -> None:
    unknown = sorted(set(item) - _KNOWN)
    if unknown:
        raise ValueError(f"seed: workspace keys {unknown} are unknown; known: {sorted(_KNOWN)}")
    path = (
        f"/subscriptions/{seeder.subscription_id}/resourceGroups/{item['resourceGroup']}"
        f"/providers/Microsoft.OperationalInsights/workspaces/{item['name']}"
    )
    body: dict[str, Any] = {
        "location": item.get("location", seeder.default_location),
        "properties": {
            "sku": {"name": item.get("sku", "PerGB2018")},
            "retentionInDays": item.get("retentionInDays", 30),
        },
    }
    if "tags" in item:
        body["tags"] = item["tags"]
    reply = seeder.request("PUT", path, API_VERSION, body)
    assert isinstance(reply.body, dict)
    model = parse_workspace_model(item, seeder.subscription_id, time.time())
    workspaces.set_model(seeder.world, str(reply.body["id"]), model)
