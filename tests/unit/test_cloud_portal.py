"""Portal links and the user agent that names the extension."""

from __future__ import annotations

import pytask
from pytask.cloud.policy import ClientPolicy, user_agent
from pytask.cloud.portal import PortalLinks

VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm 1"


def test_resource_link_opens_the_right_directory() -> None:
    links = PortalLinks("https://portal.azure.us/", "contoso.onmicrosoft.com")
    assert links.resource(VM) == (
        "https://portal.azure.us/#@contoso.onmicrosoft.com/resource"
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%201"
        "/overview"
    )


def test_resource_link_without_tenant_and_with_blade() -> None:
    links = PortalLinks("https://portal.azure.com")
    assert links.resource(VM.lstrip("/"), "extensions") is not None
    assert str(links.resource(VM, "extensions")).startswith(
        "https://portal.azure.com/#/resource/subscriptions/s/"
    )
    assert str(links.resource(VM, "extensions")).endswith("/extensions")


def test_no_portal_no_link() -> None:
    assert PortalLinks(None, "t").resource(VM) is None


def test_user_agent_names_extension_and_version() -> None:
    assert user_agent() == f"VmApplicationRelease/{pytask.__version__}"
    assert ClientPolicy().client_kwargs()["user_agent"] == user_agent()


def test_every_kind_of_retry_is_bounded_by_the_total_alone() -> None:
    from azure.core.pipeline.policies import RetryPolicy

    policy = RetryPolicy(**ClientPolicy(retry_total=8).client_kwargs())
    settings = policy.configure_retries({})
    assert (settings["total"], settings["status"], settings["connect"], settings["read"]) == (
        8,
        8,
        8,
        8,
    )
