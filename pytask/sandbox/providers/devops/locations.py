"""What the azure-devops client discovers on connect: `OPTIONS {org}/_apis` (resource
locations) and `GET {org}/_apis/ResourceAreas` (which host serves each area).

Ids, areas and route templates are the service's own (the clients in azure-devops 7.1 send
these location ids); every area is served by the one sandbox host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    id: str
    area: str
    resource: str
    route: str
    max_version: str = "7.2"

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "resourceName": self.resource,
            "routeTemplate": self.route,
            "resourceVersion": 2 if self.resource == "Timeline" else 1,
            "minVersion": "3.0",
            "maxVersion": self.max_version,
            "releasedVersion": "7.1",
        }


LOCATIONS = (
    Location(
        "e81700f7-3be2-46de-8624-2eb35882fcaa",
        "Location",
        "ResourceAreas",
        "_apis/{resource}/{areaId}",
    ),
    Location(
        "8572b1fc-2482-47fa-8f74-7e3ed53ee54b",
        "distributedtask",
        "environments",
        "{project}/_apis/{area}/{resource}/{environmentId}",
    ),
    Location(
        "86c8381e-5aee-4cde-8ae4-25c0c7f5eaea",
        "PipelinesChecks",
        "configurations",
        "{project}/_apis/pipelines/checks/configurations/{id}",
    ),
    Location(
        "28010c54-d0c0-4c89-a5b0-1c9e188b9fb7", "IMS", "Identities", "_apis/{resource}/{identityId}"
    ),
    Location(
        "8baac422-4c6e-4de5-8532-db96d92acffa",
        "build",
        "Timeline",
        "{project}/_apis/{area}/builds/{buildId}/{resource}/{timelineId}",
    ),
)

# Resource area id (the clients' `resource_area_identifier`) -> area name.
RESOURCE_AREAS = {
    "a85b8835-c1a1-4aac-ae97-1c3d0ba72dbd": "distributedtask",
    "4a933897-0488-45af-bd82-6fd3ad33f46a": "PipelinesChecks",
    "8a3d49b8-91f0-46ef-b33d-dda338c25db3": "IMS",
    "965220d5-5bb9-42cf-8d67-9b146df2a5a4": "build",
}


def locations_document() -> dict[str, Any]:
    return {"count": len(LOCATIONS), "value": [loc.document() for loc in LOCATIONS]}


def resource_areas_document(organization_url: str) -> dict[str, Any]:
    areas = [
        {"id": area_id, "name": name, "locationUrl": organization_url}
        for area_id, name in RESOURCE_AREAS.items()
    ]
    return {"count": len(areas), "value": areas}
