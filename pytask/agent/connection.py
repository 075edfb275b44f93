"""A service connection as the agent hands it to a task (ENDPOINT_* variables).

Shared vocabulary between `pytask.agent` (which reads it from the environment) and
`pytask.cloud` (which turns it into a credential and endpoints).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceConnection:
    """One endpoint: `ENDPOINT_URL_<id>`, `ENDPOINT_AUTH_<id>`, `ENDPOINT_DATA_<id>_<KEY>`.

    `parameters` are the auth parameters (keys as the agent spells them, looked up
    case-insensitively); `data` the endpoint data (subscriptionId, environmentAuthorityUrl, ...).
    """

    id: str
    url: str
    scheme: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)

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
