"""Plain ARM requests for what the SDK models cannot express.

For example a scale set PUT guarded by `If-Match`, or a resource of an api-version the
installed SDK does not know. Same pipeline as the SDK clients (ARM challenge auth, retries
honouring Retry-After, user agent) and the SDK's own ARM poller for long-running operations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineResponse, policies
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling

from pytask.cloud.policy import ClientPolicy

# azure-core retries a dropped connection only for methods it knows to be idempotent (not
# POST or PATCH); callers name the POSTs and PATCHes that are (`idempotent=True`).
_ALL_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST", "PATCH"})


class ArmClient:
    """Requests against one cloud's Azure Resource Manager, by resource path."""

    def __init__(
        self,
        base_url: str,
        credential: TokenCredential,
        scope: str,
        policy: ClientPolicy | None = None,
    ) -> None:
        self._policy = policy or ClientPolicy()
        kwargs = self._policy.client_kwargs()
        pipeline_policies: list[Any] = [
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(**kwargs),
            policies.RedirectPolicy(),
            policies.RetryPolicy(**kwargs),
            ARMChallengeAuthenticationPolicy(credential, scope),
            policies.NetworkTraceLoggingPolicy(),
            ARMHttpLoggingPolicy(),
        ]
        self._client: ARMPipelineClient[Any, Any] = ARMPipelineClient(
            base_url=base_url,
            policies=pipeline_policies,
            connection_timeout=self._policy.connection_timeout,
            read_timeout=self._policy.read_timeout,
        )

    def send(
        self,
        method: str,
        path: str,
        api_version: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> HttpResponse:
        """One request; the response whatever its status (see `request` for errors raised).
        `idempotent`: sending it twice does no more than once, so a POST or PATCH whose
        connection drops is retried like a PUT."""
        run = self._run(method, path, api_version, body, headers, idempotent)
        response: HttpResponse = run.http_response
        return response

    def request(
        self,
        method: str,
        path: str,
        api_version: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> Any:
        """The JSON body of a successful response (None if empty); ARM errors raise
        `HttpResponseError` with `.error.code` and `.status_code` (404 -> ResourceNotFound).
        `idempotent` as for `send`."""
        response = self.send(
            method, path, api_version, body=body, headers=headers, idempotent=idempotent
        )
        _raise_for_status(response)
        return _json_or_none(response)

    def begin(
        self,
        method: str,
        path: str,
        api_version: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> LROPoller[Any]:
        """A long-running PUT/PATCH/DELETE/POST, polled as ARM asks (Azure-AsyncOperation,
        Location, Retry-After); `.result()` is the final resource body (None if empty)."""
        initial = self._run(method, path, api_version, body, headers, idempotent=False)
        _raise_for_status(initial.http_response)
        polling = ARMPolling(self._policy.polling_interval)
        return LROPoller(self._client, initial, _deserialize, polling)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ArmClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(
        self,
        method: str,
        path: str,
        api_version: str,
        body: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool,
    ) -> PipelineResponse[Any, Any]:
        request = HttpRequest(
            method,
            self._client.format_url(path),
            params={"api-version": api_version},
            headers=dict(headers or {}),
            json=body,
        )
        options: dict[str, Any] = {"retry_on_methods": _ALL_METHODS} if idempotent else {}
        response: PipelineResponse[Any, Any] = self._client.send_request(
            request, _return_pipeline_response=True, **options
        )
        return response


def _raise_for_status(response: HttpResponse) -> None:
    if response.status_code >= 400:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)


def _json_or_none(response: HttpResponse) -> Any:
    text = response.text()
    return json.loads(text) if text.strip() else None


def _deserialize(pipeline_response: PipelineResponse[Any, Any]) -> Any:
    return _json_or_none(pipeline_response.http_response)
