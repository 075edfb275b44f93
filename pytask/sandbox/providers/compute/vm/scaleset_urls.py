"""ComputeRP routes for virtual machine scale sets and their instances, with the `scaleSets:`
seed section."""

from __future__ import annotations

from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.providers.compute.vm import responses, seed, site
from pytask.sandbox.providers.compute.vm.urls import API_VERSIONS, NAMESPACE

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
SETS = _RG + "/providers/Microsoft.Compute/virtualMachineScaleSets"
SET = SETS + "/{vmScaleSetName}"
INSTANCES = SET + "/virtualMachines"
INSTANCE = INSTANCES + "/{instanceId}"
_S, _I = "virtualMachineScaleSets", "virtualMachineScaleSets/virtualMachines"

ROUTES = (
    Route(
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/virtualMachineScaleSets",
        responses.list_scale_sets,
        _S,
        "VirtualMachineScaleSets_ListAll",
    ),
    Route("GET", SETS, responses.list_scale_sets, _S, "VirtualMachineScaleSets_List"),
    Route("PUT", SET, responses.put_scale_set, _S, "VirtualMachineScaleSets_CreateOrUpdate"),
    Route("PATCH", SET, responses.patch_scale_set, _S, "VirtualMachineScaleSets_Update"),
    Route("GET", SET, responses.get_scale_set, _S, "VirtualMachineScaleSets_Get"),
    Route("DELETE", SET, responses.delete_scale_set, _S, "VirtualMachineScaleSets_Delete"),
    Route("GET", SET + "/instanceView", responses.scale_set_instance_view, _S,
          "VirtualMachineScaleSets_GetInstanceView"),
    Route("POST", SET + "/manualupgrade", responses.manual_upgrade, _S,
          "VirtualMachineScaleSets_UpdateInstances"),
    Route("GET", SET + "/rollingUpgrades/latest", responses.rolling_upgrade_latest, _S,
          "VirtualMachineScaleSetRollingUpgrades_GetLatest"),
    Route("GET", INSTANCES, responses.list_instances, _I, "VirtualMachineScaleSetVMs_List"),
    Route("GET", INSTANCE, responses.get_instance, _I, "VirtualMachineScaleSetVMs_Get"),
    Route("GET", INSTANCE + "/instanceView", responses.instance_view, _I,
          "VirtualMachineScaleSetVMs_GetInstanceView"),
)  # fmt: skip

PROVIDER = Provider(
    namespace=NAMESPACE,
    routes=ROUTES,
    api_versions={_S: API_VERSIONS, _I: API_VERSIONS},
    seed_key="scaleSets",
    seed=seed.seed_scale_sets,
    effects={responses.DELETE_EFFECT: responses.delete_effect},
    seed_order=70,
    on_start=site.on_start,
)
