"""Virtual networks (with their subnets inline, as NRP returns them) and network interfaces."""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.etag import new_etag
from pytask.sandbox.core.world import World

VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
NIC_TYPE = "Microsoft.Network/networkInterfaces"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _bad(code: str, message: str, target: str | None = None) -> ArmError:
    return ArmError(400, code, message, target=target)


def _location(body: Mapping[str, Any]) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise _bad("LocationRequired", "The location property is required for this definition.")
    return location.replace(" ", "").lower()


def _prefix(value: Any, target: str) -> Network:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise _bad(
            "InvalidAddressPrefixFormat",
            f"Address prefix {value} of resource {target} is not formatted correctly. "
            "It should follow CIDR notation, for example 10.0.0.0/24.",
            target,
        ) from exc


def subnet_doc(vnet_id: str, body: Mapping[str, Any], space: list[Network]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise _bad("InvalidRequestFormat", "Subnet name is required.", "properties.subnets")
    subnet_id = f"{vnet_id}/subnets/{name}"
    props = copy.deepcopy(dict(body.get("properties") or {}))
    prefix = _prefix(props.get("addressPrefix"), subnet_id)
    if not any(prefix.version == s.version and prefix.subnet_of(s) for s in space):  # type: ignore[arg-type]
        raise _bad(
            "NetcfgSubnetRangeOutsideVnet",
            f"Subnet '{name}' is not valid because its IP address range is outside the IP "
            f"address range of virtual network '{vnet_id.rsplit('/', 1)[-1]}'.",
            subnet_id,
        )
    props["provisioningState"] = "Succeeded"
    return {
        "id": subnet_id,
        "name": name,
        "type": SUBNET_TYPE,
        "etag": new_etag(),
        "properties": props,
    }


def vnet_doc(resource_id: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    location = _location(body)
    props = copy.deepcopy(dict(body.get("properties") or {}))
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes")
    if not isinstance(prefixes, list) or not prefixes:
        raise _bad(
            "InvalidRequestFormat",
            "Cannot parse the request: addressSpace.addressPrefixes is required.",
            "properties.addressSpace.addressPrefixes",
        )
    space = [_prefix(p, resource_id) for p in prefixes]
    props["subnets"] = [subnet_doc(resource_id, s, space) for s in props.get("subnets") or []]
    props["provisioningState"] = "Succeeded"
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": VNET_TYPE,
        "location": location,
        "etag": new_etag(),
        "properties": props,
    }
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    return doc


def put_subnet(world: World, vnet: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    space = [_prefix(p, vnet["id"]) for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
    subnet = subnet_doc(vnet["id"], body, space)
    subnets = [
        s for s in vnet["properties"]["subnets"] if s["name"].lower() != subnet["name"].lower()
    ]
    vnet["properties"]["subnets"] = [*subnets, subnet]
    vnet["etag"] = new_etag()
    world.put(vnet)
    return subnet


def find_subnet(world: World, subnet_id: str) -> dict[str, Any] | None:
    vnet_id, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
    vnet = world.get(vnet_id) if vnet_id else None
    if vnet is None or vnet.get("type") != VNET_TYPE:
        return None
    for subnet in vnet["properties"]["subnets"]:
        if subnet["name"].lower() == name.lower():
            return {"location": vnet["location"], **subnet}
    return None


def nic_doc(world: World, resource_id: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    location = _location(body)
    props = copy.deepcopy(dict(body.get("properties") or {}))
    configs = props.get("ipConfigurations")
    if not isinstance(configs, list) or not configs:
        raise _bad(
            "InvalidRequestFormat",
            "Cannot parse the request: at least one IP configuration is required.",
            "properties.ipConfigurations",
        )
    for index, config in enumerate(configs):
        config_props = config.setdefault("properties", {})
        subnet_id = (config_props.get("subnet") or {}).get("id")
        subnet = find_subnet(world, str(subnet_id or ""))
        if subnet is None or subnet["location"] != location:
            raise _bad(
                "InvalidResourceReference",
                f"Resource {subnet_id} referenced by resource {resource_id} was not found. "
                "Please make sure that the referenced resource exists, and that both resources "
                "are in the same region.",
                f"properties.ipConfigurations[{index}].properties.subnet.id",
            )
        config.setdefault("name", f"ipconfig{index + 1}")
        config["id"] = f"{resource_id}/ipConfigurations/{config['name']}"
        config_props.setdefault("privateIPAllocationMethod", "Dynamic")
        config_props.setdefault("privateIPAddress", _address(subnet))
        config_props["provisioningState"] = "Succeeded"
        config_props.setdefault("primary", index == 0)
    props["provisioningState"] = "Succeeded"
    props.setdefault("macAddress", "00-0D-3A-" + random.randbytes(3).hex("-").upper())
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": NIC_TYPE,
        "location": location,
        "etag": new_etag(),
        "properties": props,
    }
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    return doc


def _address(subnet: Mapping[str, Any]) -> str:
    network = ipaddress.ip_network(subnet["properties"]["addressPrefix"])
    # Azure reserves the first four addresses of a subnet.
    offset = 4 + random.randrange(max(1, min(network.num_addresses - 5, 250)))
    return str(network.network_address + offset)
