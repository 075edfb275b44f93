"""Routes of Microsoft.Resources/deployments at resource group scope."""

from __future__ import annotations

from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.providers.deployments import responses
from pytask.sandbox.providers.resources.urls import RESOURCE_GROUP_API_VERSIONS

_RG = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}"
DEPLOYMENTS = _RG + "/providers/Microsoft.Resources/deployments"
DEPLOYMENT = DEPLOYMENTS + "/{deploymentName}"
_T = "deployments"

PROVIDER = Provider(
    namespace="Microsoft.Resources",
    api_versions={_T: RESOURCE_GROUP_API_VERSIONS},
    routes=[
        Route("PUT", DEPLOYMENT, responses.put_deployment, _T, "Deployments_CreateOrUpdate"),
        Route("GET", DEPLOYMENT, responses.get_deployment, _T, "Deployments_Get"),
        Route("GET", DEPLOYMENTS, responses.list_deployments, _T,
              "Deployments_ListByResourceGroup"),
        Route("POST", DEPLOYMENT + "/validate", responses.validate_deployment, _T,
              "Deployments_Validate"),
        Route("GET", DEPLOYMENT + "/operations", responses.list_operations, _T,
              "DeploymentOperations_ListByResourceGroup"),
        # The spec's path for the same list (no providers segment), which SDKs and the CLI use.
        Route("GET", _RG + "/deployments/{deploymentName}/operations", responses.list_operations,
              _T, "DeploymentOperations_List"),
    ],
)  # fmt: skip
