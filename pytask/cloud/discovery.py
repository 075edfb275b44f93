"""Discover a cloud's endpoints from its ARM `/metadata/endpoints` (an anonymous GET)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from azure.core import PipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest

from pytask.cloud.endpoints import CloudEndpoints, parse_metadata, strip_slash
from pytask.cloud.errors import CloudConfigError
from pytask.cloud.metadata_cache import cached_metadata
from pytask.cloud.policy import ClientPolicy

# Newest shape first; Azure Stack Hub answers only 2015-01-01.
METADATA_API_VERSIONS = ("2022-09-01", "2015-01-01")


def metadata_url(arm_url: str, api_version: str) -> str:
    return f"{strip_slash(arm_url)}/metadata/endpoints?api-version={api_version}"


def fetch_metadata(arm_url: str, policy: ClientPolicy | None = None) -> Any:
    """The metadata document of the ARM at `arm_url` (parsed JSON), trying older shapes."""
    client = _anonymous_client(arm_url, policy or ClientPolicy())
    failures: list[str] = []
    with client:
        for api_version in METADATA_API_VERSIONS:
            url = metadata_url(arm_url, api_version)
            try:
                response = client.send_request(HttpRequest("GET", url))
            except AzureError as error:
                raise CloudConfigError(
                    f"Could not reach Azure Resource Manager at {url}: {error.message}"
                ) from error
            if response.status_code == 200:
                return _json(response.text(), url)
            failures.append(f"{url} answered {response.status_code}")
    raise CloudConfigError(
        "Could not discover the cloud's endpoints: "
        + "; ".join(failures)
        + ". Check the service connection's environment URL."
    )


def discover(
    arm_url: str, policy: ClientPolicy | None = None, job_folder: Path | None = None
) -> CloudEndpoints:
    """The cloud's endpoints; with `job_folder` (Agent.TempDirectory) fetched once per job."""
    document = cached_metadata(
        strip_slash(arm_url), lambda: fetch_metadata(arm_url, policy), job_folder
    )
    return parse_metadata(document, arm_url)


def _anonymous_client(arm_url: str, policy: ClientPolicy) -> PipelineClient[Any, Any]:
    kwargs = policy.client_kwargs()
    pipeline_policies: list[Any] = [
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(**kwargs),
        policies.RetryPolicy(**kwargs),
        policies.NetworkTraceLoggingPolicy(),
    ]
    return PipelineClient(
        base_url=strip_slash(arm_url),
        policies=pipeline_policies,
        connection_timeout=policy.connection_timeout,
        read_timeout=policy.read_timeout,
    )


def _json(text: str, url: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise CloudConfigError(f"{url} did not return JSON: {error}") from error
