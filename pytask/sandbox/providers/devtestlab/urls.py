"""Microsoft.DevTestLab routes (2018-09-15) and the `labs:` seed section."""

from __future__ import annotations

from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.providers.devtestlab import responses as r
from pytask.sandbox.providers.devtestlab.seed import API_VERSION, seed_labs

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
LABS = _RG + "/providers/Microsoft.DevTestLab/labs"
LAB = LABS + "/{labName}"
SOURCES = LAB + "/artifactsources"
SOURCE = SOURCES + "/{artifactSourceName}"
ENVIRONMENTS = LAB + "/users/{userName}/environments"
VMS = LAB + "/virtualmachines"
_V = (API_VERSION,)

_T_LAB = "labs"
_T_SRC = "labs/artifactsources"
_T_TPL = "labs/artifactsources/armtemplates"
_T_ART = "labs/artifactsources/artifacts"
_T_NET = "labs/virtualnetworks"
_T_ENV = "labs/users/environments"
_T_VM = "labs/virtualmachines"
_T_IMG = "labs/customimages"
_T_FML = "labs/formulas"
# What lets a lab user create: DevTest Labs User carries neither environments/write nor
# virtualMachines/write, yet creates VMs and environments in the lab; the provider
# authorizes both with this action ("Create virtual machines in a lab").
_CREATE_IN_LAB = "Microsoft.DevTestLab/labs/createEnvironment/action"

ROUTES = (
    Route("GET", "/subscriptions/{subscriptionId}/providers/Microsoft.DevTestLab/labs",
          r.list_labs, _T_LAB, "Labs_ListBySubscription"),
    Route("GET", LABS, r.list_labs, _T_LAB, "Labs_ListByResourceGroup"),
    Route("PUT", LAB, r.put_lab, _T_LAB, "Labs_CreateOrUpdate"),
    Route("GET", LAB, r.get_lab, _T_LAB, "Labs_Get"),
    Route("DELETE", LAB, r.delete_lab, _T_LAB, "Labs_Delete"),
    Route("GET", SOURCES, r.list_sources, _T_SRC, "ArtifactSources_List"),
    Route("PUT", SOURCE, r.put_source, _T_SRC, "ArtifactSources_CreateOrUpdate"),
    Route("GET", SOURCE, r.get_source, _T_SRC, "ArtifactSources_Get"),
    Route("DELETE", SOURCE, r.delete_source, _T_SRC, "ArtifactSources_Delete"),
    Route("GET", SOURCE + "/armtemplates", r.list_templates, _T_TPL, "ArmTemplates_List"),
    Route("GET", SOURCE + "/armtemplates/{name}", r.get_template, _T_TPL, "ArmTemplates_Get"),
    Route("GET", SOURCE + "/artifacts", r.list_artifacts, _T_ART, "Artifacts_List"),
    Route("GET", SOURCE + "/artifacts/{name}", r.get_artifact, _T_ART, "Artifacts_Get"),
    Route("GET", LAB + "/virtualnetworks", r.list_networks, _T_NET, "VirtualNetworks_List"),
    Route("GET", LAB + "/virtualnetworks/{name}", r.get_network, _T_NET, "VirtualNetworks_Get"),
    Route("GET", ENVIRONMENTS, r.list_environments, _T_ENV, "Environments_List"),
    Route("PUT", ENVIRONMENTS + "/{name}", r.put_environment, _T_ENV,
          "Environments_CreateOrUpdate", action=_CREATE_IN_LAB),
    Route("GET", ENVIRONMENTS + "/{name}", r.get_environment, _T_ENV, "Environments_Get"),
    Route("DELETE", ENVIRONMENTS + "/{name}", r.delete_environment, _T_ENV,
          "Environments_Delete"),
    Route("GET", LAB + "/customimages", r.list_custom_images, _T_IMG, "CustomImages_List"),
    Route("PUT", LAB + "/customimages/{name}", r.put_custom_image, _T_IMG,
          "CustomImages_CreateOrUpdate"),
    Route("GET", LAB + "/customimages/{name}", r.get_custom_image, _T_IMG, "CustomImages_Get"),
    Route("DELETE", LAB + "/customimages/{name}", r.delete_lab_child, _T_IMG,
          "CustomImages_Delete"),
    Route("GET", LAB + "/formulas", r.list_formulas, _T_FML, "Formulas_List"),
    Route("PUT", LAB + "/formulas/{name}", r.put_formula, _T_FML, "Formulas_CreateOrUpdate"),
    Route("GET", LAB + "/formulas/{name}", r.get_formula, _T_FML, "Formulas_Get"),
    Route("DELETE", LAB + "/formulas/{name}", r.delete_lab_child, _T_FML, "Formulas_Delete"),
    Route("GET", VMS, r.list_lab_vms, _T_VM, "VirtualMachines_List"),
    Route("PUT", VMS + "/{name}", r.put_lab_vm, _T_VM, "VirtualMachines_CreateOrUpdate",
          action=_CREATE_IN_LAB),
    Route("GET", VMS + "/{name}", r.get_lab_vm, _T_VM, "VirtualMachines_Get"),
    Route("DELETE", VMS + "/{name}", r.delete_lab_vm, _T_VM, "VirtualMachines_Delete"),
    Route("POST", VMS + "/{name}/applyArtifacts", r.apply_artifacts, _T_VM,
          "VirtualMachines_ApplyArtifacts",
          action="Microsoft.DevTestLab/labs/virtualMachines/applyArtifacts/action"),
)  # fmt: skip

PROVIDER = Provider(
    namespace="Microsoft.DevTestLab",
    routes=ROUTES,
    api_versions={
        t: _V for t in (_T_LAB, _T_SRC, _T_TPL, _T_ART, _T_NET, _T_ENV, _T_VM, _T_IMG, _T_FML)
    },
    seed_key="labs",
    seed=seed_labs,
    # After resource groups and networks; labs create their own VMs through the routes.
    seed_order=80,
    effects={
        r.DELETE_ENVIRONMENT: r.delete_environment_effect,
        r.DELETE_LAB_VM: r.delete_lab_vm_effect,
        r.DELETE_LAB: r.delete_lab_effect,
        r.EXPIRE_LAB_VM: r.expire_lab_vm_effect,
    },
)
