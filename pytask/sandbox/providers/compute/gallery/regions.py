"""Azure region names: ARM accepts `westeurope` and `West Europe` alike and answers with the
display name in gallery replication data."""

from __future__ import annotations

# canonical name -> display name (the public-cloud regions a sandbox world uses)
_DISPLAY: dict[str, str] = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "brazilsouth": "Brazil South",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "switzerlandnorth": "Switzerland North",
    "norwayeast": "Norway East",
    "swedencentral": "Sweden Central",
    "polandcentral": "Poland Central",
    "italynorth": "Italy North",
    "spaincentral": "Spain Central",
    "eastasia": "East Asia",
    "southeastasia": "Southeast Asia",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "centralindia": "Central India",
    "southindia": "South India",
    "uaenorth": "UAE North",
    "southafricanorth": "South Africa North",
}


def canonical(name: str) -> str:
    return name.replace(" ", "").lower()


def known(name: str) -> bool:
    return canonical(name) in _DISPLAY


def display(name: str) -> str:
    """`westeurope` -> `West Europe`; unknown names are returned as given."""
    return _DISPLAY.get(canonical(name), name)
