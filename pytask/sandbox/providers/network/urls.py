"""Microsoft.Network routes: virtual networks, subnets, network interfaces."""

from __future__ import annotations

from pytask.sandbox.core import Provider, Route
from pytask.sandbox.providers.network import responses

GROUP = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
VNETS = f"{GROUP}/providers/Microsoft.Network/virtualNetworks"
VNET = f"{VNETS}/{{virtualNetworkName}}"
SUBNET = f"{VNET}/subnets/{{subnetName}}"
NICS = f"{GROUP}/providers/Microsoft.Network/networkInterfaces"
NIC = f"{NICS}/{{networkInterfaceName}}"

# NRP accepts every stable version; these are the recent ones clients send (2022-01-01: the
# Azure CLI's network profile, e.g. `az vm show -d` reading the NICs).
API_VERSIONS = (
    "2022-01-01", "2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01",
    "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01", "2024-10-01", "2025-01-01",
)  # fmt: skip

PROVIDER = Provider(
    namespace="Microsoft.Network",
    api_versions={
        "virtualNetworks": API_VERSIONS,
        "virtualNetworks/subnets": API_VERSIONS,
        "networkInterfaces": API_VERSIONS,
    },
    routes=[
        Route("PUT", VNET, responses.put_vnet, "virtualNetworks", "VirtualNetworks_CreateOrUpdate"),
        Route("GET", VNET, responses.get_vnet, "virtualNetworks", "VirtualNetworks_Get"),
        Route("DELETE", VNET, responses.delete_vnet, "virtualNetworks", "VirtualNetworks_Delete"),
        Route("GET", VNETS, responses.list_vnets, "virtualNetworks", "VirtualNetworks_List"),
        Route(
            "PUT", SUBNET, responses.put_subnet, "virtualNetworks/subnets", "Subnets_CreateOrUpdate"
        ),
        Route("GET", SUBNET, responses.get_subnet, "virtualNetworks/subnets", "Subnets_Get"),
        Route(
            "PUT", NIC, responses.put_nic, "networkInterfaces", "NetworkInterfaces_CreateOrUpdate"
        ),
        Route("GET", NIC, responses.get_nic, "networkInterfaces", "NetworkInterfaces_Get"),
        Route("DELETE", NIC, responses.delete_nic, "networkInterfaces", "NetworkInterfaces_Delete"),
        Route("GET", NICS, responses.list_nics, "networkInterfaces", "NetworkInterfaces_List"),
    ],
)
