"""The Microsoft.Compute side of what the task made: VM ids in a resource group, and their
private IPs and FQDNs read from their network interfaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytask.tasks.devtestlab.lab import Lab

COMPUTE_API = "2024-07-01"
NETWORK_API = "2024-05-01"


@dataclass
class Machines:
    vm_ids: list[str] = field(default_factory=list)
    private_ips: list[str] = field(default_factory=list)
    fqdns: list[str] = field(default_factory=list)


def vms_in_group(lab: Lab, group_id: str) -> Machines:
    listing = lab.get(f"{group_id}/providers/Microsoft.Compute/virtualMachines", COMPUTE_API)
    machines = Machines()
    for vm in (listing or {}).get("value", []):
        machines.vm_ids.append(str(vm["id"]))
        ips, fqdns = addresses(lab, vm)
        machines.private_ips.extend(ips)
        machines.fqdns.extend(fqdns)
    return machines


def addresses(lab: Lab, vm: dict[str, Any]) -> tuple[list[str], list[str]]:
    ips: list[str] = []
    fqdns: list[str] = []
    nics = ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces")
    for reference in nics or []:
        nic = lab.get(str(reference.get("id", "")), NETWORK_API) if reference.get("id") else None
        for config in ((nic or {}).get("properties") or {}).get("ipConfigurations") or []:
            props = config.get("properties") or {}
            if props.get("privateIPAddress"):
                ips.append(str(props["privateIPAddress"]))
            public_id = (props.get("publicIPAddress") or {}).get("id")
            public = lab.get(str(public_id), NETWORK_API) if public_id else None
            fqdn = (((public or {}).get("properties") or {}).get("dnsSettings") or {}).get("fqdn")
            if fqdn:
                fqdns.append(str(fqdn))
    return ips, fqdns
