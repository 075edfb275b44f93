"""The `galleries:` seed section, created through the same PUTs a client sends.

```yaml
galleries:
  - name: releases
    resourceGroup: rg-apps
    location: westeurope            # default: the sandbox's default location
    applications:
      - name: payments
        osType: Linux
        versions:
          - name: 1.0.0
            mediaLink: https://...   # must be readable, as in Azure
            install: ./install.sh
            remove: ./remove.sh
            targetRegions: [westeurope, northeurope]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core.provider import Seeder

API_VERSION = "2025-03-03"


def _base(seeder: Seeder, gallery: Mapping[str, Any]) -> str:
    return (
        f"/subscriptions/{seeder.subscription_id}/resourceGroups/{gallery['resourceGroup']}"
        f"/providers/Microsoft.Compute/galleries/{gallery['name']}"
    )


def seed(seeder: Seeder, spec: Any) -> None:
    for gallery in spec or []:
        location = gallery.get("location", seeder.default_location)
        base = _base(seeder, gallery)
        body = {"location": location, "properties": {"description": gallery.get("description", "")}}
        seeder.request("PUT", base, API_VERSION, body)
        for app in gallery.get("applications", []):
            app_path = f"{base}/applications/{app['name']}"
            seeder.request("PUT", app_path, API_VERSION, _application_body(app, location))
            for version in app.get("versions", []):
                path = f"{app_path}/versions/{version['name']}"
                seeder.request("PUT", path, API_VERSION, _version_body(version, location))
    seeder.finish_operations()


def _application_body(app: Mapping[str, Any], location: str) -> dict[str, Any]:
    props = {"supportedOSType": app["osType"]}
    if app.get("description"):
        props["description"] = app["description"]
    return {"location": location, "properties": props}


def _version_body(version: Mapping[str, Any], location: str) -> dict[str, Any]:
    manage = {"install": version["install"], "remove": version["remove"]}
    if version.get("update"):
        manage["update"] = version["update"]
    profile: dict[str, Any] = {
        "source": {"mediaLink": version["mediaLink"]},
        "manageActions": manage,
        "excludeFromLatest": bool(version.get("excludeFromLatest", False)),
        "targetRegions": [
            r if isinstance(r, Mapping) else {"name": r}
            for r in version.get("targetRegions", [location])
        ],
    }
    if version.get("packageFileName"):
        profile["settings"] = {"packageFileName": version["packageFileName"]}
    body: dict[str, Any] = {"location": location, "properties": {"publishingProfile": profile}}
    if version.get("tags"):
        body["tags"] = dict(version["tags"])
    return body
