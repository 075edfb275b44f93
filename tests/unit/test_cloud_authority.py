"""Authority, tenant and instance discovery for each kind of cloud."""

from __future__ import annotations

import pytest

from pytask.cloud.authority import resolve_authority

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(
    "url",
    [
        "https://login.microsoftonline.com/",
        "https://login.windows.net",
        "https://login.microsoftonline.us",
        "https://login.chinacloudapi.cn/",
        "login.microsoftonline.com",
    ],
)
def test_entra_clouds_keep_instance_discovery(url: str) -> None:
    authority = resolve_authority(url, TENANT)
    assert authority.url.startswith("https://login.")
    assert not authority.url.endswith("/")
    assert authority.tenant_id == TENANT
    assert authority.disable_instance_discovery is False


def test_custom_cloud_disables_instance_discovery() -> None:
    authority = resolve_authority("https://127.0.0.1:8443/", TENANT)
    assert authority.url == "https://127.0.0.1:8443"
    assert authority.disable_instance_discovery is True


def test_azure_stack_entra_on_premises_host_disables_discovery() -> None:
    authority = resolve_authority("https://login.contoso.local/", TENANT)
    assert authority.disable_instance_discovery is True


def test_adfs_authority_is_split_into_host_and_adfs_tenant() -> None:
    authority = resolve_authority("https://adfs.local.azurestack.external/adfs/", TENANT)
    assert authority.url == "https://adfs.local.azurestack.external"
    assert authority.tenant_id == "adfs"
    assert authority.disable_instance_discovery is True


def test_adfs_flag_from_the_connection() -> None:
    authority = resolve_authority("https://adfs.contoso.local", TENANT, adfs=True)
    assert authority.tenant_id == "adfs"
    assert authority.url == "https://adfs.contoso.local"
