"""`/metadata/endpoints`: how clients discover this cloud, every URL pointing at the sandbox.

Storage suffix: Azurite serves accounts path-style (https://127.0.0.1:PORT/ACCOUNT), which no
DNS suffix can express, so `suffixes.storage` is omitted and clients must use the account's
`primaryEndpoints.blob` from ARM (as they should for any cloud)."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core.cloud import ARM_AUDIENCES
from pytask.sandbox.core.world import World

CLOUD_NAME = "AzureSandbox"
_METRICS_KEYS = {
    "metricsEndpointTemplate": "metrics_template",
    "metricsAudience": "metrics_audience",
}


def _url(world: World, key: str, default: str) -> str:
    return world.endpoints.get(key) or default


def metadata_2022(world: World) -> dict[str, Any]:
    base = world.endpoints["base_url"]
    return {
        "portal": f"{base}/_sandbox/portal",
        "authentication": {
            "loginEndpoint": base,
            "audiences": list(ARM_AUDIENCES),
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": base,
        "graphAudience": "https://graph.sandbox.local/",
        "graph": f"{base}/_sandbox/graph/",
        "name": CLOUD_NAME,
        "suffixes": {
            "keyVaultDns": "vault.sandbox.local",
            "acrLoginServer": "azurecr.sandbox.local",
            "sqlServerHostname": "database.sandbox.local",
        },
        "batch": "https://batch.sandbox.local/",
        "resourceManager": f"{base}/",
        "vmImageAliasDoc": f"{base}/_sandbox/aliases.json",
        "activeDirectoryDataLake": "https://datalake.sandbox.local/",
        "sqlManagement": "https://management.sandbox.local:8443/",
        "microsoftGraphResourceId": "https://graph.sandbox.local/",
        "appInsightsResourceId": "https://api.applicationinsights.sandbox.local",
        "appInsightsTelemetryChannelResourceId": f"{base}/v2/track",
        "attestationResourceId": "https://attest.sandbox.local",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.sandbox.local",
        "logAnalyticsResourceId": _url(
            world, "log_analytics_audience", "https://api.loganalytics.io"
        ),
        "logAnalytics": _url(world, "log_analytics_url", base),
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.sandbox.local",
        # The regional metrics data plane, set by the monitor provider (pytask.cloud reads it).
        **{k: world.endpoints[v] for k, v in _METRICS_KEYS.items() if world.endpoints.get(v)},
    }


def metadata_2015(world: World) -> dict[str, Any]:
    """The older (Azure Stack Hub) shape."""
    base = world.endpoints["base_url"]
    return {
        "galleryEndpoint": f"{base}/_sandbox/gallery/",
        "graphEndpoint": f"{base}/_sandbox/graph/",
        "portalEndpoint": f"{base}/_sandbox/portal/",
        "authentication": {"loginEndpoint": f"{base}/", "audiences": list(ARM_AUDIENCES)},
    }
