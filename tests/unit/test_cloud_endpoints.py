"""Parsing ARM `/metadata/endpoints` for public, sovereign, Azure Stack and custom clouds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytask.agent.connection import ServiceConnection
from pytask.cloud.azurerm import parse_azurerm
from pytask.cloud.endpoints import parse_metadata
from pytask.cloud.errors import CloudConfigError
from pytask.cloud.session import apply_connection

EXAMPLE = (
    Path(__file__).resolve().parents[1]
    / "sandbox"
    / "examples"
    / "arm"
    / "metadata-endpoints-2022-09-01.json"
)

# The public cloud's answer as recorded (a committed copy: missing fails, it does not skip).
PUBLIC: dict[str, Any] = json.loads(EXAMPLE.read_text())

US_GOVERNMENT: dict[str, Any] = {
    "portal": "https://portal.azure.us",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.us",
        "audiences": [
            "https://management.core.usgovcloudapi.net/",
            "https://management.usgovcloudapi.net/",
        ],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "name": "AzureUSGovernment",
    "suffixes": {"storage": "core.usgovcloudapi.net", "keyVaultDns": "vault.usgovcloudapi.net"},
    "resourceManager": "https://management.usgovcloudapi.net/",
    "logAnalyticsResourceId": "https://api.loganalytics.us",
}

CHINA: dict[str, Any] = {
    "portal": "https://portal.azure.cn",
    "authentication": {
        "loginEndpoint": "https://login.chinacloudapi.cn",
        "audiences": [
            "https://management.core.chinacloudapi.cn",
            "https://management.chinacloudapi.cn",
        ],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "name": "AzureChinaCloud",
    "suffixes": {"storage": "core.chinacloudapi.cn"},
    "resourceManager": "https://management.chinacloudapi.cn",
    "logAnalyticsResourceId": "https://api.loganalytics.azure.cn",
}

# Azure Stack Hub answers api-version 2015-01-01 with this older shape.
STACK_ADFS: dict[str, Any] = {
    "galleryEndpoint": "https://adminportal.local.azurestack.external:30016/",
    "graphEndpoint": "https://graph.local.azurestack.external/",
    "portalEndpoint": "https://portal.local.azurestack.external/",
    "authentication": {
        "loginEndpoint": "https://adfs.local.azurestack.external/adfs/",
        "audiences": [
            "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155"
        ],
    },
}


def test_public_cloud() -> None:
    cloud = parse_metadata(PUBLIC, "https://management.azure.com/")
    assert cloud.name == "AzureCloud"
    assert cloud.resource_manager == "https://management.azure.com"
    assert cloud.authority == "https://login.microsoftonline.com"
    assert cloud.arm_audience == "https://management.core.windows.net/"
    assert cloud.arm_scope == "https://management.core.windows.net/.default"
    assert cloud.storage_suffix == "core.windows.net"
    assert cloud.blob_account_url("pkgs") == "https://pkgs.blob.core.windows.net"
    assert cloud.storage_scope == "https://storage.azure.com/.default"
    assert cloud.log_analytics == "https://api.loganalytics.io"
    assert cloud.log_analytics_audience == "https://api.loganalytics.io"
    assert cloud.portal == "https://portal.azure.com"
    assert cloud.metrics_endpoint("West US 3") == "https://westus3.metrics.monitor.azure.com"
    assert cloud.metrics_audience == "https://metrics.monitor.azure.com"


def test_us_government_cloud() -> None:
    cloud = parse_metadata(US_GOVERNMENT, "https://management.usgovcloudapi.net")
    assert cloud.authority == "https://login.microsoftonline.us"
    assert cloud.arm_scope == "https://management.core.usgovcloudapi.net/.default"
    assert cloud.blob_account_url("pkgs") == "https://pkgs.blob.core.usgovcloudapi.net"
    assert cloud.require_log_analytics() == "https://api.loganalytics.us"
    assert cloud.metrics_endpoint("usgovvirginia") == (
        "https://usgovvirginia.metrics.monitor.azure.us"
    )
    assert cloud.portal == "https://portal.azure.us"


def test_china_cloud() -> None:
    cloud = parse_metadata(CHINA, "https://management.chinacloudapi.cn/")
    assert cloud.authority == "https://login.chinacloudapi.cn"
    assert cloud.arm_scope == "https://management.core.chinacloudapi.cn/.default"
    assert cloud.blob_account_url("pkgs") == "https://pkgs.blob.core.chinacloudapi.cn"
    assert cloud.log_analytics == "https://api.loganalytics.azure.cn"
    assert cloud.metrics_audience == "https://metrics.monitor.azure.cn"


def test_azure_stack_older_shape() -> None:
    arm = "https://management.local.azurestack.external/"
    cloud = parse_metadata(STACK_ADFS, arm)
    assert cloud.name == "AzureStack"
    assert cloud.resource_manager == "https://management.local.azurestack.external"
    assert cloud.authority == "https://adfs.local.azurestack.external/adfs"
    assert cloud.arm_audience == STACK_ADFS["authentication"]["audiences"][0]
    assert cloud.portal == "https://portal.local.azurestack.external"
    assert cloud.log_analytics is None
    with pytest.raises(CloudConfigError, match="storage endpoint suffix"):
        cloud.blob_account_url("pkgs")
    with pytest.raises(CloudConfigError, match="Log Analytics"):
        cloud.require_log_analytics()
    with pytest.raises(CloudConfigError, match="metrics"):
        cloud.metrics_endpoint("local")


def test_array_shape_picks_the_cloud_of_this_arm() -> None:
    document = [PUBLIC, CHINA, US_GOVERNMENT]
    cloud = parse_metadata(document, "https://management.usgovcloudapi.net/")
    assert cloud.name == "AzureUSGovernment"
    assert parse_metadata(document, "https://management.azure.com").name == "AzureCloud"


def test_custom_cloud_publishes_its_own_data_plane_endpoints() -> None:
    document = {
        **PUBLIC,
        "name": "Sandbox",
        "resourceManager": "https://127.0.0.1:8443/",
        "authentication": {"loginEndpoint": "https://127.0.0.1:8443/", "audiences": []},
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "logAnalytics": "https://127.0.0.1:8443/loganalytics/",
        "metricsEndpointTemplate": "https://127.0.0.1:8443/metrics/{region}",
        "metricsAudience": "https://metrics.sandbox.local/",
        "storageAudience": "https://storage.sandbox.local",
    }
    cloud = parse_metadata(document, "https://127.0.0.1:8443")
    assert cloud.arm_audience == "https://127.0.0.1:8443"  # no audience published: the ARM URL
    assert cloud.metrics_endpoint("East US") == "https://127.0.0.1:8443/metrics/eastus"
    assert cloud.metrics_audience == "https://metrics.sandbox.local"
    assert cloud.storage_scope == "https://storage.sandbox.local/.default"
    assert cloud.log_analytics == "https://127.0.0.1:8443/loganalytics"
    assert cloud.log_analytics_audience == "https://api.loganalytics.io"


@pytest.mark.parametrize("document", [{}, {"authentication": {}}, [], "text", None])
def test_document_without_login_endpoint_is_an_error(document: Any) -> None:
    with pytest.raises(CloudConfigError, match="metadata/endpoints"):
        parse_metadata(document, "https://arm.example/")


def test_connection_authority_and_audience_override_discovery() -> None:
    connection = ServiceConnection(
        id="c",
        url="https://management.usgovcloudapi.net/",
        scheme="ManagedServiceIdentity",
        data={
            "activeDirectoryAuthority": "https://login.microsoftonline.us/",
            "activeDirectoryServiceEndpointResourceId": "https://management.usgovcloudapi.net/",
        },
    )
    cloud = apply_connection(
        parse_metadata(US_GOVERNMENT, connection.url), parse_azurerm(connection)
    )
    assert cloud.authority == "https://login.microsoftonline.us"
    assert cloud.arm_scope == "https://management.usgovcloudapi.net/.default"
    assert cloud.resource_manager == "https://management.usgovcloudapi.net"
