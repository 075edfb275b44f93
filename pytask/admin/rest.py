"""Calls the azure-devops 7.1 client has no typed method for (approvals) or cannot carry
(its CheckConfiguration model has no `settings`), through the client's own machinery: same
authentication, TLS settings and error handling."""

from __future__ import annotations

from typing import Any

from azure.devops.client import Client
from msrest.universal_http import ClientRequest

API_VERSION = "7.1"


class RestClient(Client):  # type: ignore[misc]
    def call(self, method: str, path: str, query: dict[str, str], body: Any = None) -> Any:
        request = ClientRequest(method=method, url=self._client.format_url(path))
        request.format_parameters({**query, "api-version": API_VERSION})
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if body is not None:
            request.add_content(body)
        response = self._send_request(request, headers=headers)
        return response.json() if response.content else None
