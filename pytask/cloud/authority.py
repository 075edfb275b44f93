"""Where a credential asks for tokens: the Entra (or AD FS) authority of one cloud."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pytask.cloud.endpoints import strip_slash

# Entra authority hosts that MSAL's instance discovery knows. Any other authority (Azure
# Stack's AD FS, the sandbox) must be used with instance discovery disabled, or MSAL
# would ask login.microsoftonline.com to validate a host it has never heard of.
KNOWN_ENTRA_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login.usgovcloudapi.net",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.microsoftonline.de",
    }
)

ADFS_TENANT = "adfs"


@dataclass(frozen=True)
class Authority:
    """What azure-identity's `authority=`, `tenant_id=` and `disable_instance_discovery=` get."""

    url: str
    tenant_id: str
    disable_instance_discovery: bool


def resolve_authority(url: str, tenant_id: str | None, *, adfs: bool = False) -> Authority:
    """The authority for `tenant_id` at `url`.

    AD FS (Azure Stack Hub disconnected) is addressed as tenant `adfs` under the host,
    so a URL ending in `/adfs` is split into host and tenant, as MSAL expects.
    """
    text = strip_slash(url)
    parts = urlsplit(text if "://" in text else "https://" + text)
    path = parts.path.rstrip("/")
    if path.lower().endswith("/" + ADFS_TENANT):
        adfs = True
        path = path[: -len(ADFS_TENANT) - 1]
    base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    host = (parts.hostname or "").lower()
    return Authority(
        url=base,
        tenant_id=ADFS_TENANT if adfs else (tenant_id or "organizations"),
        disable_instance_discovery=adfs or host not in KNOWN_ENTRA_HOSTS,
    )
