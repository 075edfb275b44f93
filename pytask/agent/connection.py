"""A service connection as the agent hands it to a task (ENDPOINT_* variables).

Shared vocabulary between `pytask.agent` (which reads it from the environment) and
`pytask.cloud` (which turns it into a credential and endpoints).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# The scheme `pytask run` gives the connection when no connection file is passed: the cloud
# layer then uses the developer's Azure CLI login (AzureCliCredential).
LOCAL_CLI_SCHEME = "LocalAzureCli"


@dataclass(frozen=True)
class ServiceConnection:
    """One endpoint: `ENDPOINT_URL_<id>`, `ENDPOINT_AUTH_<id>`, `ENDPOINT_DATA_<id>_<KEY>`.

    `parameters` are the auth parameters (keys as the agent spells them, looked up
    case-insensitively); `data` the endpoint data (subscriptionId, environmentAuthorityUrl, ...).
    `access_token` is the job's own OAuth token (SystemVssConnection), which workload identity
    federation exchanges for an OIDC assertion; it is attached by `pytask.agent` when the task
    reads the connection. Parameters and token hold secrets, so they stay out of `repr`.

    `scheme == LOCAL_CLI_SCHEME` marks the developer's own Azure CLI login (`pytask run`
    without `--connection`): no secrets, the credential comes from `az login`.
    """

    id: str
    url: str
    scheme: str
    parameters: Mapping[str, str] = field(default_factory=dict, repr=False)
    data: Mapping[str, str] = field(default_factory=dict)
    access_token: str | None = field(default=None, repr=False)

    def parameter(self, key: str) -> str | None:
        return _lookup(self.parameters, key)

    def data_value(self, key: str) -> str | None:
        return _lookup(self.data, key)


def _lookup(values: Mapping[str, str], key: str) -> str | None:
    wanted = key.lower()
    for name, value in values.items():
        if name.lower() == wanted:
            return value
    return None
