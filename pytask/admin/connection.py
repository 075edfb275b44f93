"""An authenticated azure-devops Connection: a PAT from the environment, else the Azure CLI
login (an Entra token for Azure DevOps)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from azure.devops.connection import Connection
from msrest.authentication import BasicAuthentication, BasicTokenAuthentication

PAT_ENV = "AZURE_DEVOPS_EXT_PAT"  # the variable the Azure DevOps CLI extension reads
# The Azure DevOps application id: the resource an Entra token for it is issued for.
DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798/.default"


class AdminError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 1."""


@dataclass(frozen=True)
class Target:
    organization: str  # https://dev.azure.com/org (the organization URL)
    project: str


def connect(organization: str, pat_env: str = PAT_ENV) -> Connection:
    pat = os.environ.get(pat_env, "")
    if pat:
        return Connection(base_url=organization.rstrip("/"), creds=BasicAuthentication("", pat))
    return Connection(base_url=organization.rstrip("/"), creds=_cli_credentials(pat_env))


def _cli_credentials(pat_env: str) -> BasicTokenAuthentication:
    try:
        from azure.identity import AzureCliCredential, CredentialUnavailableError

        token = AzureCliCredential().get_token(DEVOPS_RESOURCE)
    except (ImportError, CredentialUnavailableError) as exc:
        raise AdminError(
            f"no credentials: set {pat_env} to a personal access token, or run `az login`"
        ) from exc
    return BasicTokenAuthentication({"access_token": token.token})
