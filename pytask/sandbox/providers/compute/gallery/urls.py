"""Compute Gallery routes: galleries, gallery applications and application versions."""

from __future__ import annotations

from collections.abc import Callable

from pytask.sandbox.core.provider import Provider, Route, Runtime
from pytask.sandbox.providers.compute.gallery import models, responses, seed

NAMESPACE = "Microsoft.Compute"

# 2025-03-03 is the newest stable GalleryRP spec; 2026-03-03 is what azure-mgmt-compute 39 sends.
API_VERSIONS = (
    "2021-07-01",
    "2021-10-01",
    "2022-01-03",
    "2022-03-03",
    "2022-08-03",
    "2023-07-03",
    "2024-03-03",
    "2025-03-03",
    "2026-03-03",
)

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
GALLERIES = _RG + "/providers/Microsoft.Compute/galleries"
GALLERY = GALLERIES + "/{galleryName}"
APPLICATIONS = GALLERY + "/applications"
APPLICATION = APPLICATIONS + "/{galleryApplicationName}"
VERSIONS = APPLICATION + "/versions"
VERSION = VERSIONS + "/{galleryApplicationVersionName}"

_G, _A, _V = "galleries", "galleries/applications", "galleries/applications/versions"

ROUTES = (
    Route(
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/galleries",
        responses.list_galleries,
        _G,
        "Galleries_List",
    ),
    Route("GET", GALLERIES, responses.list_galleries, _G, "Galleries_ListByResourceGroup"),
    Route("PUT", GALLERY, responses.put_gallery, _G, "Galleries_CreateOrUpdate"),
    Route("GET", GALLERY, responses.get_gallery, _G, "Galleries_Get"),
    Route("DELETE", GALLERY, responses.delete_gallery, _G, "Galleries_Delete"),
    Route(
        "GET", APPLICATIONS, responses.list_applications, _A, "GalleryApplications_ListByGallery"
    ),
    Route("PUT", APPLICATION, responses.put_application, _A, "GalleryApplications_CreateOrUpdate"),
    Route("PATCH", APPLICATION, responses.patch_application, _A, "GalleryApplications_Update"),
    Route("GET", APPLICATION, responses.get_application, _A, "GalleryApplications_Get"),
    Route("DELETE", APPLICATION, responses.delete_application, _A, "GalleryApplications_Delete"),
    Route(
        "GET",
        VERSIONS,
        responses.list_versions,
        _V,
        "GalleryApplicationVersions_ListByGalleryApplication",
    ),
    Route("PUT", VERSION, responses.put_version, _V, "GalleryApplicationVersions_CreateOrUpdate"),
    Route("PATCH", VERSION, responses.patch_version, _V, "GalleryApplicationVersions_Update"),
    Route("GET", VERSION, responses.get_version, _V, "GalleryApplicationVersions_Get"),
    Route("DELETE", VERSION, responses.delete_version, _V, "GalleryApplicationVersions_Delete"),
)

EFFECTS = {
    responses.EFFECT_SETTLE: models.settle,
    responses.EFFECT_REMOVE: models.remove,
}


def on_start(runtime: Runtime) -> Callable[[], None] | None:
    """Let handlers trust the sandbox's own CA when they read a mediaLink from the blob
    gateway (it serves HTTPS with the sandbox certificate)."""
    runtime.world.endpoints.setdefault("ca_bundle", str(runtime.ca_file))
    return None


PROVIDER = Provider(
    namespace=NAMESPACE,
    routes=ROUTES,
    api_versions={_G: API_VERSIONS, _A: API_VERSIONS, _V: API_VERSIONS},
    seed_key="galleries",
    seed=seed.seed,
    effects=EFFECTS,
    # After resource groups and storage (a seeded version's mediaLink may name a seeded blob).
    seed_order=60,
    on_start=on_start,
)
