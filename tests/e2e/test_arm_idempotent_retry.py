"""A dropped connection on a POST or PATCH: azure-core does not retry it (it cannot know the
request is idempotent); ArmClient does when the caller says it is, as every POST and PATCH the
tasks send is (tags merged whole, an application profile under If-Match, a manual upgrade)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceResponseError

from tests.conftest import RunningSandbox
from tests.helpers.replay import cloud_session

pytestmark = pytest.mark.e2e

CHECK = "/subscriptions/{}/providers/Microsoft.Storage/checkNameAvailability"
RESET_ONCE = """
rules:
  - {name: drop-post, operation: StorageAccounts_CheckNameAvailability, inject: reset, nth: 1}
"""


def test_an_idempotent_post_is_retried_after_a_reset(sandbox: RunningSandbox) -> None:
    path = CHECK.format(sandbox["subscription_id"])
    body = {"name": "stidempotent", "type": "Microsoft.Storage/storageAccounts"}
    with cloud_session(sandbox) as session, session.arm() as arm:
        sandbox.set_faults(RESET_ONCE)
        try:
            with pytest.raises(ServiceResponseError):
                arm.request("POST", path, "2025-06-01", body=body)
            sandbox.set_faults(RESET_ONCE)
            answer = arm.request("POST", path, "2025-06-01", body=body, idempotent=True)
        finally:
            sandbox.clear_faults()
    assert answer["nameAvailable"] is True
    assert [f["rule"] for f in sandbox.faults_log()][-2:] == ["drop-post", "drop-post"]
