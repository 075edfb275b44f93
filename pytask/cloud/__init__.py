"""One Azure cloud: endpoints, the credential from a service connection, SDK clients.

Entry point for tasks::

    session = CloudSession.from_connection(connection)   # pytask.agent's ServiceConnection
    compute = session.compute()                           # right base_url, scopes, retries
    blobs = session.blob_service_for_account(rg, account)
    logs, metrics = session.logs(), session.metrics("westus3")
    arm = session.arm()                                   # raw ARM calls (If-Match, LROs)
    link = session.portal().resource(resource_id)

Modules: `azurerm` (read and validate a connection), `endpoints` + `discovery` (the cloud
from ARM's /metadata/endpoints), `authority` + `credentials` (azure-identity credential),
`policy` (retries, timeouts, user agent), `arm` (plain ARM requests), `portal` (links),
`session` (the client factory). Every problem with a connection is a `CloudConfigError`.
"""

from pytask.cloud.credentials import JobIdentity
from pytask.cloud.errors import CloudConfigError
from pytask.cloud.policy import ClientPolicy
from pytask.cloud.session import CloudSession

__all__ = ["ClientPolicy", "CloudConfigError", "CloudSession", "JobIdentity"]
