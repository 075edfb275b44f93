"""Microsoft.Resources routes, api-versions and the `resourceGroups` seed section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core.provider import Provider, Route, Seeder
from pytask.sandbox.providers.resources import models, responses

RESOURCE_GROUP_API_VERSIONS = (
    "2025-04-01",
    "2025-03-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-09-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-06-01",
    "2019-10-01",
    "2019-08-01",
    "2019-07-01",
    "2019-05-10",
    "2019-05-01",
    "2018-05-01",
)
SUBSCRIPTION_API_VERSIONS = (
    "2022-12-01",
    "2021-01-01",
    "2020-01-01",
    "2019-11-01",
    "2019-06-01",
    "2018-06-01",
    "2016-06-01",
)
METADATA_API_VERSIONS = ("2022-09-01", "2020-06-01", "2019-05-01", "2018-01-01", "2015-01-01")
SEED_API_VERSION = RESOURCE_GROUP_API_VERSIONS[0]

SUB = "/subscriptions/{subscriptionId}"
RG = SUB + "/resourcegroups/{resourceGroupName}"
RG_ACTION = "Microsoft.Resources/subscriptions/resourceGroups"


def seed(seeder: Seeder, spec: Any) -> None:
    """```yaml
    resourceGroups:
      - {name: rg-apps, location: eastus, tags: {env: dev}}
    ```"""
    if not isinstance(spec, list):
        raise ValueError("seed: 'resourceGroups' must be a list")
    for item in spec:
        if not isinstance(item, Mapping) or "name" not in item:
            raise ValueError("seed: each resource group needs a name")
        body: dict[str, Any] = {"location": item.get("location", seeder.default_location)}
        if item.get("tags"):
            body["tags"] = dict(item["tags"])
        seeder.request(
            "PUT",
            f"/subscriptions/{seeder.subscription_id}/resourceGroups/{item['name']}",
            SEED_API_VERSION,
            body,
        )


PROVIDER = Provider(
    namespace="Microsoft.Resources",
    api_versions={
        "metadata": METADATA_API_VERSIONS,
        "subscriptions": SUBSCRIPTION_API_VERSIONS,
        "resourceGroups": RESOURCE_GROUP_API_VERSIONS,
        "resources": RESOURCE_GROUP_API_VERSIONS,
    },
    seed_key="resourceGroups",
    seed=seed,
    seed_order=10,
    effects={
        "delete_resource_group": models.delete_resource_group,
        "restore_resource_group": responses.restore_resource_group,
    },
    routes=[
        Route(
            "GET",
            "/metadata/endpoints",
            responses.get_metadata,
            "metadata",
            "Metadata_Endpoints",
            auth="none",
        ),
        Route(
            "GET",
            "/subscriptions",
            responses.list_subscriptions,
            "subscriptions",
            "Subscriptions_List",
            action="",
        ),
        Route(
            "GET",
            SUB,
            responses.get_subscription,
            "subscriptions",
            "Subscriptions_Get",
            action="Microsoft.Resources/subscriptions/read",
        ),
        Route(
            "GET",
            SUB + "/locations",
            responses.list_locations,
            "subscriptions",
            "Subscriptions_ListLocations",
            action="Microsoft.Resources/subscriptions/locations/read",
        ),
        Route(
            "GET",
            SUB + "/resourcegroups",
            responses.list_resource_groups,
            "resourceGroups",
            "ResourceGroups_List",
            action=RG_ACTION + "/read",
        ),
        Route(
            "PUT",
            RG,
            responses.put_resource_group,
            "resourceGroups",
            "ResourceGroups_CreateOrUpdate",
            action=RG_ACTION + "/write",
        ),
        Route(
            "GET",
            RG,
            responses.get_resource_group,
            "resourceGroups",
            "ResourceGroups_Get",
            action=RG_ACTION + "/read",
        ),
        Route(
            "HEAD",
            RG,
            responses.check_resource_group,
            "resourceGroups",
            "ResourceGroups_CheckExistence",
            action=RG_ACTION + "/read",
        ),
        Route(
            "PATCH",
            RG,
            responses.patch_resource_group,
            "resourceGroups",
            "ResourceGroups_Update",
            action=RG_ACTION + "/write",
        ),
        Route(
            "DELETE",
            RG,
            responses.delete_resource_group,
            "resourceGroups",
            "ResourceGroups_Delete",
            action=RG_ACTION + "/delete",
        ),
        Route(
            "GET",
            RG + "/resources",
            responses.list_resources_in_group,
            "resources",
            "Resources_ListByResourceGroup",
            action=RG_ACTION + "/resources/read",
        ),
        Route(
            "GET",
            SUB + "/resources",
            responses.list_resources,
            "resources",
            "Resources_List",
            action="Microsoft.Resources/subscriptions/resources/read",
        ),
    ],
)
