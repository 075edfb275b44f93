"""ComputeRP routes for virtual machines, with the `virtualMachines:` seed section.

Scale sets live in `scaleset_urls.py` (their own seed section, `scaleSets:`); both share the
Microsoft.Compute namespace with the gallery provider.
"""

from __future__ import annotations

from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.providers.compute.vm import responses, seed, site

NAMESPACE = "Microsoft.Compute"

# 2025-04-01 is the newest stable ComputeRP spec; 2026-04-01 is what azure-mgmt-compute 39 sends.
API_VERSIONS = (
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2026-04-01",
)

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
VMS = _RG + "/providers/Microsoft.Compute/virtualMachines"
VM = VMS + "/{vmName}"
_T = "virtualMachines"

ROUTES = (
    Route(
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/virtualMachines",
        responses.list_vms,
        _T,
        "VirtualMachines_ListAll",
    ),
    Route("GET", VMS, responses.list_vms, _T, "VirtualMachines_List"),
    Route("PUT", VM, responses.put_vm, _T, "VirtualMachines_CreateOrUpdate"),
    Route("PATCH", VM, responses.patch_vm, _T, "VirtualMachines_Update"),
    Route("GET", VM, responses.get_vm, _T, "VirtualMachines_Get"),
    Route("DELETE", VM, responses.delete_vm, _T, "VirtualMachines_Delete"),
    Route("GET", VM + "/instanceView", responses.vm_instance_view, _T,
          "VirtualMachines_InstanceView"),
)  # fmt: skip

PROVIDER = Provider(
    namespace=NAMESPACE,
    routes=ROUTES,
    api_versions={_T: API_VERSIONS},
    seed_key="virtualMachines",
    seed=seed.seed_vms,
    effects={responses.DELETE_EFFECT: responses.delete_effect},
    # After galleries (a seeded VM may reference a seeded application version).
    seed_order=70,
    on_start=site.on_start,
)
