"""Facts about the sandbox cloud that several modules share."""

from __future__ import annotations

# The ARM audiences this cloud publishes in /metadata/endpoints (first = the one clients use).
# Like Azure's pair (management.core.windows.net / management.azure.com); ARM accepts tokens
# for either, with or without the trailing slash.
ARM_AUDIENCES = ("https://management.core.sandbox.local/", "https://management.sandbox.local/")

LOCATIONS = (
    "eastus",
    "eastus2",
    "westus2",
    "westus3",
    "centralus",
    "northeurope",
    "westeurope",
    "uksouth",
)
DEFAULT_LOCATION = "eastus"
# name -> (display name, geography group), as Subscriptions_ListLocations reports them.
LOCATION_NAMES = {
    "eastus": ("East US", "US"),
    "eastus2": ("East US 2", "US"),
    "westus2": ("West US 2", "US"),
    "westus3": ("West US 3", "US"),
    "centralus": ("Central US", "US"),
    "northeurope": ("North Europe", "Europe"),
    "westeurope": ("West Europe", "Europe"),
    "uksouth": ("UK South", "UK"),
}

# The Azure DevOps organization and project the sandbox's service connections live in.
DEVOPS_ORGANIZATION = "sandbox-org"
DEVOPS_PROJECT = "sandbox-project"

# ARM's per-hour subscription limits reported in x-ms-ratelimit-remaining-subscription-*.
READS_PER_HOUR = 12000
WRITES_PER_HOUR = 1200


def normalize_location(location: str) -> str:
    """ARM accepts 'East US' for 'eastus'."""
    return location.replace(" ", "").lower()
