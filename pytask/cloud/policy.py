"""How every client talks to Azure: retries, timeouts, user agent.

Data handed to the SDKs as their own keyword arguments, so retries are azure-core's
RetryPolicy (which waits for Retry-After on 429/503 before its own backoff) and long-running
operations are polled by the SDK pollers at the interval the service asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytask

PRODUCT = "VmApplicationRelease"


def user_agent() -> str:
    return f"{PRODUCT}/{pytask.__version__}"


@dataclass(frozen=True)
class ClientPolicy:
    """Defaults sized for pipeline jobs: patient with throttling, bounded per request."""

    retry_total: int = 8
    retry_backoff_factor: float = 0.8
    retry_backoff_max: int = 60
    connection_timeout: float = 30.0
    read_timeout: float = 120.0
    # Used by ARM pollers only when a response carries no Retry-After.
    polling_interval: float = 10.0

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "user_agent": user_agent(),
            "retry_total": self.retry_total,
            # azure-core also caps each kind of retry at 3 by default: four throttled or failed
            # answers in a row to one request (the reliability suite's 15 % faults) ended a
            # rollout although retry_total allowed eight. The total is the only bound we mean.
            "retry_status": self.retry_total,
            "retry_connect": self.retry_total,
            "retry_read": self.retry_total,
            "retry_backoff_factor": self.retry_backoff_factor,
            "retry_backoff_max": self.retry_backoff_max,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }

    def storage_client_kwargs(self) -> dict[str, Any]:
        """azure-storage-blob ignores retry_backoff_*: its own ExponentialRetry waits 15 s
        before the first retry of a 503 ServerBusy or a reset. Storage asks for exponential
        backoff, not for that first pause: start at 2 s (then 4, 6, 10, 18 s, with jitter)."""
        from azure.storage.blob import ExponentialRetry

        retry = ExponentialRetry(
            initial_backoff=2, increment_base=2, retry_total=5, random_jitter_range=1
        )
        return {**self.client_kwargs(), "retry_policy": retry}

    def arm_client_kwargs(self) -> dict[str, Any]:
        return {**self.client_kwargs(), "polling_interval": self.polling_interval}
