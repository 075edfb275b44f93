"""Lab virtual machines: the request checked as DevTest Labs checks it, the Microsoft.Compute
VM body it becomes, and the lab VM document pointing at it (`computeId`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pytask.sandbox.core import issued
from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.devtestlab import images
from pytask.sandbox.providers.devtestlab import models as m

COMPUTE_API = "2024-07-01"
_IMAGE_KEYS = ("publisher", "offer", "sku")


@dataclass(frozen=True)
class LabVmRequest:
    name: str
    location: str
    size: str
    user_name: str
    password: str | None
    ssh_key: str | None
    image: dict[str, Any]
    custom_image_id: str | None
    os_type: str
    allow_claim: bool
    expiration: str | None
    subnet: str | None
    network: str | None
    disallow_public_ip: bool
    artifacts: Any
    notes: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ComputeVm:
    id: str
    nic_id: str
    private_ip: str
    subnet_id: str
    done_at: float


def _bad(code: str, message: str, target: str) -> ArmError:
    return ArmError(400, code, message, target=target)


def expiration(value: Any, now: float) -> str | None:
    """An ISO 8601 expiration date, which must lie in the future."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise _bad(
            "InvalidExpirationDate", f"'{value}' is not a date.", "properties.expirationDate"
        ) from error
    if moment.tzinfo is None or moment.timestamp() <= now:
        raise _bad(
            "InvalidExpirationDate",
            "The expiration date must be a UTC date in the future.",
            "properties.expirationDate",
        )
    return str(value)


def expiry_epoch(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def check(
    world: World, lab: Mapping[str, Any], name: str, body: Mapping[str, Any], now: float
) -> LabVmRequest:
    props = body.get("properties")
    if not isinstance(props, Mapping):
        raise _bad("InvalidRequestContent", "properties is required.", "properties")
    size = props.get("size")
    if not isinstance(size, str) or not size:
        raise _bad("MissingVmSize", "The virtual machine size is required.", "properties.size")
    user = props.get("userName")
    if not isinstance(user, str) or not user:
        raise _bad("MissingUserName", "The user name is required.", "properties.userName")
    password, ssh_key = props.get("password"), props.get("sshKey")
    if isinstance(password, str):
        issued.record("lab-vm-password", password)  # the suite's secret scan (issued.py)
    if not password and not ssh_key:
        raise _bad(
            "MissingCredentials",
            "A password or an SSH key is required.",
            "properties.password",
        )
    custom_id = str(props.get("customImageId") or "")
    custom = images.find_custom_image(world, lab, custom_id) if custom_id else None
    if custom_id and custom is None:
        raise _bad(
            "InvalidCustomImageId",
            f"The custom image '{custom_id}' was not found in lab '{lab['name']}'.",
            "properties.customImageId",
        )
    image = props.get("galleryImageReference") if custom is None else {}
    if custom is None and (
        not isinstance(image, Mapping) or any(not image.get(k) for k in _IMAGE_KEYS)
    ):
        raise _bad(
            "InvalidGalleryImageReference",
            "galleryImageReference needs publisher, offer and sku (or give a customImageId).",
            "properties.galleryImageReference",
        )
    assert isinstance(image, Mapping)
    os_type = str(custom["_os"] if custom else image.get("osType") or "Linux")
    if os_type not in ("Linux", "Windows"):
        raise _bad("InvalidOsType", f"osType '{os_type}' is not valid.", "properties.osType")
    tags = body.get("tags") or {}
    return LabVmRequest(
        name=name,
        location=str(body.get("location") or lab["location"]),
        size=size,
        user_name=user,
        password=str(password) if password else None,
        ssh_key=str(ssh_key) if ssh_key else None,
        image=dict(image),
        custom_image_id=custom["id"] if custom else None,
        os_type=os_type,
        allow_claim=bool(props.get("allowClaim", False)),
        expiration=expiration(props.get("expirationDate"), now),
        subnet=props.get("labSubnetName"),
        network=props.get("labVirtualNetworkId"),
        disallow_public_ip=bool(props.get("disallowPublicIpAddress", False)),
        artifacts=props.get("artifacts"),
        notes=str(props.get("notes") or ""),
        tags={str(k): str(v) for k, v in dict(tags).items()},
    )


def subnet_of(world: World, lab: Mapping[str, Any], request: LabVmRequest) -> str:
    """The Microsoft.Network subnet id behind the lab network and subnet the request names
    (the lab's default `Dtl<lab>` network when it names none)."""
    networks = m.child(world, lab["id"], m.VNET_TYPE)
    if request.network:
        networks = [n for n in networks if n["id"].lower() == request.network.lower()]
    if not networks:
        raise _bad(
            "InvalidLabVirtualNetworkId",
            f"The lab virtual network '{request.network}' was not found in lab '{lab['name']}'.",
            "properties.labVirtualNetworkId",
        )
    overrides = networks[0]["properties"]["subnetOverrides"]
    if request.subnet:
        overrides = [o for o in overrides if o["labSubnetName"].lower() == request.subnet.lower()]
    if not overrides:
        raise _bad(
            "InvalidLabSubnetName",
            f"The subnet '{request.subnet}' is not in the lab virtual network.",
            "properties.labSubnetName",
        )
    return str(overrides[0]["resourceId"])


def compute_body(request: LabVmRequest, nic_id: str, tags: dict[str, str]) -> dict[str, Any]:
    os_profile: dict[str, Any] = {
        "computerName": request.name[:15],
        "adminUsername": request.user_name,
    }
    if request.password:
        os_profile["adminPassword"] = request.password
    if request.ssh_key and request.os_type == "Linux":
        os_profile["linuxConfiguration"] = {
            "disablePasswordAuthentication": not request.password,
            "ssh": {
                "publicKeys": [
                    {
                        "path": f"/home/{request.user_name}/.ssh/authorized_keys",
                        "keyData": request.ssh_key,
                    }
                ]
            },
        }
    image = {k: request.image[k] for k in (*_IMAGE_KEYS, "version") if request.image.get(k)}
    if request.custom_image_id:
        image = {"id": request.custom_image_id}
    return {
        "location": request.location,
        "tags": tags,
        "properties": {
            "hardwareProfile": {"vmSize": request.size},
            "osProfile": os_profile,
            "storageProfile": {
                "imageReference": image,
                "osDisk": {"createOption": "FromImage", "osType": request.os_type},
            },
            "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
        },
    }


def private_ip(nic: Mapping[str, Any]) -> str:
    configs = (nic.get("properties") or {}).get("ipConfigurations") or []
    return str(configs[0]["properties"].get("privateIPAddress", "")) if configs else ""


def lab_vm_doc(
    resource_id: str,
    lab: Mapping[str, Any],
    request: LabVmRequest,
    compute: ComputeVm,
    ready: float,
    now: float,
    caller: str,
    owner: str,
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ownerObjectId": "" if request.allow_claim else owner,
        "ownerUserPrincipalName": "",
        "createdByUserId": owner,
        "createdByUser": caller,
        "createdDate": iso(now),
        "computeId": compute.id,
        "osType": request.os_type,
        "size": request.size,
        "userName": request.user_name,
        "isAuthenticationWithSshKey": bool(request.ssh_key),
        "labSubnetName": compute.subnet_id.rsplit("/", 1)[-1],
        "labVirtualNetworkId": request.network or f"{lab['id']}/virtualnetworks/Dtl{lab['name']}",
        "disallowPublicIpAddress": request.disallow_public_ip,
        **(
            {"customImageId": request.custom_image_id}
            if request.custom_image_id
            else {"galleryImageReference": request.image}
        ),
        "networkInterface": {
            "virtualNetworkId": compute.subnet_id.split("/subnets/")[0],
            "subnetId": compute.subnet_id,
            "privateIpAddress": compute.private_ip,
        },
        "allowClaim": request.allow_claim,
        "storageType": "Standard",
        "virtualMachineCreationSource": (
            "FromCustomImage" if request.custom_image_id else "FromGalleryImage"
        ),
        "dataDiskParameters": [],
        "notes": request.notes,
        "uniqueIdentifier": m.new_identifier(),
    }
    if not request.disallow_public_ip:
        props["fqdn"] = f"{request.name}.{request.location}.cloudapp.azure.com"
    if request.expiration:
        props["expirationDate"] = request.expiration
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": request.name,
        "type": m.LAB_VM_TYPE,
        "location": request.location,
        "properties": props,
        "_ready": ready,
    }
    if request.tags:
        doc["tags"] = dict(request.tags)
    return doc


def update(doc: dict[str, Any], body: Mapping[str, Any], now: float) -> None:
    """A PUT on an existing lab VM: tags, notes, expiration date and claimability change."""
    props = body.get("properties") or {}
    if "tags" in body:
        doc["tags"] = dict(body.get("tags") or {})
    if "expirationDate" in props:
        value = expiration(props.get("expirationDate"), now)
        if value:
            doc["properties"]["expirationDate"] = value
        else:
            doc["properties"].pop("expirationDate", None)
    for key in ("notes", "allowClaim"):
        if key in props:
            doc["properties"][key] = props[key]
