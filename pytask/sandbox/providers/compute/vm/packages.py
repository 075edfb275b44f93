"""What a VM needs to know about a gallery application version, and how it names one.

The gallery provider owns gallery state; this module only describes the view the VM provider
needs (`PackageVersion`) and the lookup it is given, so the two providers stay decoupled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Compute/galleries/{gallery}
#   /applications/{app}/versions/{version-or-latest}
_REFERENCE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.Compute/galleries/(?P<gallery>[^/]+)"
    r"/applications/(?P<app>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PackageReference:
    """A parsed `packageReferenceId`; `version` may be the keyword `latest`."""

    subscription: str
    resource_group: str
    gallery: str
    application: str
    version: str

    @property
    def application_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/galleries/{self.gallery}/applications/{self.application}"
        )


def parse_reference(package_reference_id: str) -> PackageReference | None:
    match = _REFERENCE.match(package_reference_id.strip())
    if match is None:
        return None
    return PackageReference(
        match["sub"], match["group"], match["gallery"], match["app"], match["version"]
    )


@dataclass(frozen=True)
class PackageVersion:
    """A gallery application version as a VM sees it."""

    id: str
    application: str
    version: str
    os_type: str  # the application's supportedOSType: "Linux" | "Windows"
    regions: tuple[str, ...]  # target regions the version is replicated to
    media_link: str
    install: str
    remove: str
    update: str = ""
    package_file_name: str = ""
    ready: bool = True  # provisioned and replicated

    def replicated_to(self, region: str) -> bool:
        wanted = _region(region)
        return any(_region(r) == wanted for r in self.regions)


def _region(name: str) -> str:
    # ARM accepts both "West US" and "westus".
    return name.replace(" ", "").lower()


# Resolves a packageReferenceId (with `latest` allowed) to the version it names, or None.
VersionLookup = Callable[[str], "PackageVersion | None"]
