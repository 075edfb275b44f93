"""Links into the cloud's Azure portal, for task summaries."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class PortalLinks:
    """Deep links under `base` (the cloud's portal); `tenant` makes them open in the right
    directory when the reader belongs to several."""

    base: str | None
    tenant: str | None = None

    def resource(self, resource_id: str, blade: str = "overview") -> str | None:
        """The portal page of an ARM resource, or None when the cloud has no portal."""
        if not self.base:
            return None
        directory = f"@{quote(self.tenant, safe='')}" if self.tenant else ""
        path = quote("/" + resource_id.strip("/"), safe="/")
        suffix = f"/{blade.strip('/')}" if blade else ""
        return f"{self.base.rstrip('/')}/#{directory}/resource{path}{suffix}"
