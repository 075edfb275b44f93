"""One cloud session: the credential and endpoints of a connection, and the SDK clients.

Every client it hands out talks to the connection's cloud (base URL and token scopes from
the connection and ARM's metadata, never the public cloud's defaults), with the same retry
policy, timeouts and user agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from pytask.agent.connection import ServiceConnection
from pytask.cloud.arm import ArmClient
from pytask.cloud.azurerm import AzureRmConnection, parse_azurerm
from pytask.cloud.credentials import JobIdentity, build_credential, local_credential
from pytask.cloud.discovery import discover
from pytask.cloud.endpoints import CloudEndpoints, strip_slash
from pytask.cloud.errors import CloudConfigError
from pytask.cloud.policy import ClientPolicy
from pytask.cloud.portal import PortalLinks

# Each SDK client is imported when first asked for, not here: a task uses two or three of the
# six, and importing them all cost ~0.2 s before every task's first request (bench_overhead).
if TYPE_CHECKING:
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.devtestlabs import DevTestLabsClient
    from azure.mgmt.storage import StorageManagementClient
    from azure.monitor.query import LogsQueryClient
    from azure.monitor.querymetrics import MetricsClient
    from azure.storage.blob import BlobServiceClient


@dataclass
class CloudSession:
    """Hands out clients for one cloud and identity. Create with `from_connection`/`local`."""

    endpoints: CloudEndpoints
    credential: TokenCredential
    subscription_id: str | None
    tenant_id: str | None = None
    policy: ClientPolicy = field(default_factory=ClientPolicy)

    @classmethod
    def from_connection(
        cls,
        connection: ServiceConnection,
        job: JobIdentity | None = None,
        policy: ClientPolicy | None = None,
        job_folder: Path | None = None,
    ) -> CloudSession:
        """Validate the connection, discover its cloud (once per job when `job_folder`, the
        job's Agent.TempDirectory, is given), and build its credential."""
        azurerm = parse_azurerm(connection)
        policy = policy or ClientPolicy()
        endpoints = apply_connection(discover(azurerm.arm_url, policy, job_folder), azurerm)
        # pytask.agent attaches System.AccessToken to the connection it reads.
        job = job or JobIdentity(access_token=connection.access_token)
        return cls(
            endpoints=endpoints,
            credential=build_credential(azurerm, endpoints.authority, job),
            subscription_id=azurerm.subscription_id,
            tenant_id=azurerm.tenant_id,
            policy=policy,
        )

    @classmethod
    def local(
        cls,
        arm_url: str,
        subscription_id: str | None,
        *,
        use_cli: bool = True,
        policy: ClientPolicy | None = None,
    ) -> CloudSession:
        """A developer's session without a service connection (their Azure CLI login)."""
        policy = policy or ClientPolicy()
        endpoints = discover(arm_url, policy)
        credential = local_credential(endpoints.authority, use_cli=use_cli)
        return cls(endpoints, credential, subscription_id, policy=policy)

    def close(self) -> None:
        """Release the credential's connections (clients are closed by their own `with`)."""
        close = getattr(self.credential, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> CloudSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def require_subscription(self) -> str:
        if not self.subscription_id:
            raise CloudConfigError(
                "No subscription: the service connection must be scoped to a subscription "
                "(data 'subscriptionId')."
            )
        return self.subscription_id

    def compute(self) -> ComputeManagementClient:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self.require_subscription(), **self._arm())

    def devtestlabs(self) -> DevTestLabsClient:
        from azure.mgmt.devtestlabs import DevTestLabsClient

        return DevTestLabsClient(self.credential, self.require_subscription(), **self._arm())

    def storage(self) -> StorageManagementClient:
        from azure.mgmt.storage import StorageManagementClient

        return StorageManagementClient(self.credential, self.require_subscription(), **self._arm())

    def arm(self) -> ArmClient:
        return ArmClient(
            self.endpoints.resource_manager, self.credential, self.endpoints.arm_scope, self.policy
        )

    def blob_service(self, account_url: str) -> BlobServiceClient:
        """Blob client for an account URL (prefer the account's `primaryEndpoints.blob`)."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            strip_slash(account_url),
            credential=self.credential,
            audience=self.endpoints.storage_audience,
            **self.policy.storage_client_kwargs(),
        )

    def blob_service_for_account(self, resource_group: str, account: str) -> BlobServiceClient:
        """Blob client for a storage account, at the blob endpoint ARM reports for it."""
        with self.storage() as storage:
            properties = storage.storage_accounts.get_properties(resource_group, account)
        endpoints = properties.primary_endpoints
        blob = endpoints.blob if endpoints else None
        return self.blob_service(blob or self.endpoints.blob_account_url(account))

    def logs(self) -> LogsQueryClient:
        from azure.monitor.query import LogsQueryClient

        endpoint = self.endpoints.require_log_analytics()
        audience = self.endpoints.log_analytics_audience or endpoint
        return LogsQueryClient(
            self.credential, endpoint=endpoint, audience=audience, **self.policy.client_kwargs()
        )

    def metrics(self, region: str) -> MetricsClient:
        """Azure Monitor metrics for resources in `region` (one batch call for many)."""
        from azure.monitor.querymetrics import MetricsClient

        endpoint = self.endpoints.metrics_endpoint(region)
        audience = self.endpoints.metrics_audience
        if not audience:
            raise CloudConfigError(
                f"The cloud '{self.endpoints.name}' publishes no Azure Monitor metrics audience."
            )
        return MetricsClient(
            endpoint, self.credential, audience=audience, **self.policy.client_kwargs()
        )

    def portal(self) -> PortalLinks:
        return PortalLinks(self.endpoints.portal, self.tenant_id)

    def _arm(self) -> dict[str, Any]:
        return {
            "base_url": self.endpoints.resource_manager,
            "credential_scopes": [self.endpoints.arm_scope],
            **self.policy.arm_client_kwargs(),
        }


def apply_connection(endpoints: CloudEndpoints, connection: AzureRmConnection) -> CloudEndpoints:
    """The connection's own authority and ARM audience win over discovered ones: they are
    what the connection's identity was registered against."""
    return replace(
        endpoints,
        resource_manager=connection.arm_url,
        authority=connection.authority or endpoints.authority,
        arm_audience=connection.arm_audience or endpoints.arm_audience,
    )
