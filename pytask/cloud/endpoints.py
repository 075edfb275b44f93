"""One cloud's endpoints, parsed from ARM's `/metadata/endpoints` document.

Every Azure cloud (public, US Government, China, Azure Stack Hub, the sandbox) describes
itself at `{arm}/metadata/endpoints`. Three shapes exist in the wild:

- api-version 2022-09-01: one object (`resourceManager`, `authentication`, `suffixes`,
  `logAnalyticsResourceId`, `portal`, ...);
- api-version 2019-05-01 / 2020-06-01: an array of such objects, one per known cloud;
- api-version 2015-01-01 (what Azure Stack Hub answers): `galleryEndpoint`,
  `graphEndpoint`, `portalEndpoint` and `authentication` only.

The parser accepts all three; the pure functions here do no I/O (see `discovery`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pytask.cloud.errors import CloudConfigError

# The Azure Monitor metrics data plane (`{region}.metrics.monitor.<domain>`) is not in the
# metadata document, so for the named sovereign clouds it comes from their documented
# domains; any other cloud may publish it as `metricsEndpointTemplate` (with `{region}`).
_METRICS_DOMAINS = {
    "azurecloud": "monitor.azure.com",
    "azureusgovernment": "monitor.azure.us",
    "azurechinacloud": "monitor.azure.cn",
}
METRICS_TEMPLATE_KEY = "metricsEndpointTemplate"
METRICS_AUDIENCE_KEY = "metricsAudience"

# In Azure's clouds the Log Analytics query endpoint is its resource id; a cloud whose query
# endpoint differs from the token audience (the sandbox) publishes it as `logAnalytics`.
LOG_ANALYTICS_ENDPOINT_KEY = "logAnalytics"

# The Storage SDKs' default audience, documented as valid for any storage account (an
# account's own blob URL is the alternative); a custom cloud may publish `storageAudience`.
DEFAULT_STORAGE_AUDIENCE = "https://storage.azure.com"
STORAGE_AUDIENCE_KEY = "storageAudience"


@dataclass(frozen=True)
class CloudEndpoints:
    """What a task needs to know about one cloud.

    Endpoint URLs carry no trailing slash; audiences are kept as published, since some
    token services compare them literally.
    """

    name: str
    resource_manager: str
    authority: str
    arm_audience: str
    storage_suffix: str | None = None
    storage_audience: str = DEFAULT_STORAGE_AUDIENCE
    log_analytics: str | None = None
    log_analytics_audience: str | None = None
    portal: str | None = None
    metrics_template: str | None = None
    metrics_audience: str | None = None

    @property
    def arm_scope(self) -> str:
        return scope_for(self.arm_audience)

    @property
    def storage_scope(self) -> str:
        return scope_for(self.storage_audience)

    def blob_account_url(self, account: str) -> str:
        """The conventional blob endpoint of a storage account in this cloud."""
        if not self.storage_suffix:
            raise CloudConfigError(
                f"The cloud '{self.name}' does not publish a storage endpoint suffix in "
                f"{self.resource_manager}/metadata/endpoints; use the storage account's blob "
                "endpoint from Azure Resource Manager instead."
            )
        return f"https://{account}.blob.{self.storage_suffix}"

    def metrics_endpoint(self, region: str) -> str:
        """The regional Azure Monitor metrics endpoint (`MetricsClient`) for `region`."""
        if not self.metrics_template:
            raise CloudConfigError(
                f"The cloud '{self.name}' has no known Azure Monitor metrics endpoint; "
                f"publish '{METRICS_TEMPLATE_KEY}' in its metadata or query metrics through "
                "Azure Resource Manager."
            )
        return self.metrics_template.replace("{region}", normalize_region(region))

    def require_log_analytics(self) -> str:
        if not self.log_analytics:
            raise CloudConfigError(
                f"The cloud '{self.name}' does not publish a Log Analytics endpoint "
                f"(logAnalyticsResourceId) in {self.resource_manager}/metadata/endpoints."
            )
        return self.log_analytics


def scope_for(audience: str) -> str:
    return audience.rstrip("/") + "/.default"


def normalize_region(region: str) -> str:
    """'West US 3' and 'westus3' name the same region; endpoints use the short form."""
    return region.replace(" ", "").lower()


def strip_slash(url: str) -> str:
    return url.strip().rstrip("/")


def select_cloud(document: Any, arm_url: str) -> Mapping[str, Any]:
    """The entry of a metadata document describing the cloud whose ARM is `arm_url`."""
    if isinstance(document, Mapping):
        return document
    if isinstance(document, list):
        entries = [entry for entry in document if isinstance(entry, Mapping)]
        wanted = _host(arm_url)
        for entry in entries:
            if _host(str(entry.get("resourceManager", ""))) == wanted:
                return entry
        if entries:
            return entries[0]
    raise CloudConfigError(
        f"{strip_slash(arm_url)}/metadata/endpoints did not return a cloud description."
    )


def parse_metadata(document: Any, arm_url: str) -> CloudEndpoints:
    """Endpoints from a metadata document (any of the three shapes) for the ARM at `arm_url`."""
    entry = select_cloud(document, arm_url)
    auth = _mapping(entry.get("authentication"))
    login = _text(auth.get("loginEndpoint"))
    if not login:
        raise CloudConfigError(
            f"{strip_slash(arm_url)}/metadata/endpoints does not name a login endpoint "
            "(authentication.loginEndpoint)."
        )
    audiences = [a for a in auth.get("audiences") or [] if isinstance(a, str) and a]
    name = _text(entry.get("name")) or "AzureStack"
    suffixes = _mapping(entry.get("suffixes"))
    metrics_template = _text(entry.get(METRICS_TEMPLATE_KEY)) or _known_metrics_template(name)
    return CloudEndpoints(
        name=name,
        resource_manager=strip_slash(_text(entry.get("resourceManager")) or arm_url),
        authority=strip_slash(login),
        arm_audience=audiences[0] if audiences else strip_slash(arm_url),
        storage_suffix=_text(suffixes.get("storage")) or _text(entry.get("storageSuffix")),
        storage_audience=_text(entry.get(STORAGE_AUDIENCE_KEY)) or DEFAULT_STORAGE_AUDIENCE,
        log_analytics=_optional_url(entry.get(LOG_ANALYTICS_ENDPOINT_KEY))
        or _optional_url(entry.get("logAnalyticsResourceId")),
        log_analytics_audience=_optional_url(entry.get("logAnalyticsResourceId")),
        portal=_optional_url(entry.get("portal") or entry.get("portalEndpoint")),
        metrics_template=metrics_template,
        metrics_audience=_optional_url(entry.get(METRICS_AUDIENCE_KEY))
        or _known_metrics_audience(name),
    )


def _known_metrics_template(cloud_name: str) -> str | None:
    domain = _METRICS_DOMAINS.get(cloud_name.lower())
    return f"https://{{region}}.metrics.{domain}" if domain else None


def _known_metrics_audience(cloud_name: str) -> str | None:
    domain = _METRICS_DOMAINS.get(cloud_name.lower())
    return f"https://metrics.{domain}" if domain else None


def _host(url: str) -> str:
    return (urlsplit(url.strip()).netloc or "").lower()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _optional_url(value: Any) -> str | None:
    text = _text(value)
    return strip_slash(text) if text else None
