"""Faults from --faults on Blob Storage: the same rules as for ARM (`service: blob`), answered as
Azure Storage answers (XML <Error>, x-ms-error-code), survived by the real azure-storage-blob
client's own retry policy; each injection in faults.jsonl, each blob request in
blob-requests.jsonl (method, path, Blob REST operation, status, fault, client request id)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobServiceClient

from pytask.sandbox.azurite import default_main_js
from tests.conftest import RunningSandbox

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not default_main_js().exists(), reason="azurite not installed"),
]

SEED = """
resourceGroups:
  - {name: rg-faults, location: eastus}
storageAccounts:
  - {name: stfaults, resourceGroup: rg-faults, allowSharedKeyAccess: false, containers: [pkgs]}
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    from tests.conftest import start_sandbox

    running = start_sandbox(tmp_path_factory.mktemp("blob-faults") / "state", seed=SEED)
    try:
        yield running
    finally:
        running.stop()


def _blob_service(cloud: RunningSandbox) -> BlobServiceClient:
    params = cloud["connection"]["parameters"]
    credential = ClientSecretCredential(
        params["tenantid"],
        params["serviceprincipalid"],
        params["serviceprincipalkey"],
        authority=cloud["authority_url"],
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )
    return BlobServiceClient(
        f"{cloud['blob_url']}/stfaults",
        credential=credential,
        connection_verify=cloud.ca_bundle,
        # The SDK's own ExponentialRetry, with a short first backoff to keep the test fast.
        initial_backoff=0,
        increment_base=1,
        random_jitter_range=0,
    )


def _blob_log(cloud: RunningSandbox) -> list[dict[str, Any]]:
    path = cloud.state_dir / "blob-requests.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def _settled(read: Callable[[], list[dict[str, Any]]], count: int) -> list[dict[str, Any]]:
    """The log is written when the answer is finished: allow it a moment to land."""
    deadline = time.monotonic() + 5
    while len(found := read()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture
def blobs(cloud: RunningSandbox) -> Iterator[BlobServiceClient]:
    cloud.clear_faults()
    with _blob_service(cloud) as service:
        service.get_container_client("pkgs").exists()  # token cached before any rule applies
        yield service
    cloud.clear_faults()


def test_503_500_and_a_reset_are_retried_through_to_the_upload(
    cloud: RunningSandbox, blobs: BlobServiceClient
) -> None:
    cloud.set_faults(
        """
rules:
  # First match wins: each rule counts only the requests no earlier rule took.
  - {name: busy, service: blob, operation: PutBlob, nth: 1, status: 503, retry_after: 0}
  - {name: broken, service: blob, operation: PutBlob, nth: 1, status: 500}
  - {name: reset, service: blob, operation: PutBlob, nth: 1, inject: reset}
"""
    )
    before = len(_blob_log(cloud))
    blob = blobs.get_blob_client("pkgs", "app-1.0.0.bin")
    blob.upload_blob(b"payload" * 100, overwrite=True)
    assert blob.download_blob().readall() == b"payload" * 100
    fired = [f for f in cloud.faults_log() if f["service"] == "blob"]
    assert [f["rule"] for f in fired[-3:]] == ["busy", "broken", "reset"]
    puts = [
        r for r in _settled(lambda: _blob_log(cloud)[before:], 5) if r["operation"] == "PutBlob"
    ]
    assert [(r["status"], r["fault"]) for r in puts] == [
        (503, "busy"),
        (500, "broken"),
        (0, "reset"),
        (201, None),
    ]
    # Each attempt is logged with its x-ms-client-request-id (the storage SDK sets a new one
    # per attempt, unlike azure-core's ARM pipeline, so retries are told by path and order).
    assert all(r["client_request_id"] for r in puts)
    assert len({r["path"] for r in puts}) == 1


def test_the_error_is_azure_storage_s(cloud: RunningSandbox, blobs: BlobServiceClient) -> None:
    cloud.set_faults(
        "rules: [{service: blob, operation: GetContainerProperties, status: 503, retry_after: 2}]"
    )
    answer = requests.get(
        f"{cloud['blob_url']}/stfaults/pkgs?restype=container",
        headers={"x-ms-version": "2025-01-05"},
        verify=cloud.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 503
    assert answer.headers["x-ms-error-code"] == "ServerBusy"
    assert answer.headers["Retry-After"] == "2"
    assert answer.headers["Content-Type"] == "application/xml"
    body = answer.content.decode("utf-8-sig")
    assert "<Error><Code>ServerBusy</Code><Message>The server is currently unable" in body


def test_rules_without_service_leave_blobs_alone(
    cloud: RunningSandbox, blobs: BlobServiceClient
) -> None:
    """Rules written for ARM before storage faults existed keep their meaning."""
    cloud.set_faults("rules: [{name: everything, status: 500}]")
    blobs.get_blob_client("pkgs", "untouched.bin").upload_blob(b"x", overwrite=True)
    assert not [f for f in cloud.faults_log() if f["rule"] == "everything"]


def test_a_delay_holds_the_request_then_serves_it(
    cloud: RunningSandbox, blobs: BlobServiceClient
) -> None:
    cloud.set_faults(
        "rules: [{service: blob, operation: GetBlobProperties, inject: delay, seconds: 1}]"
    )
    blob = blobs.get_blob_client("pkgs", "slow.bin")
    blob.upload_blob(b"slow", overwrite=True)
    started = time.monotonic()
    assert blob.get_blob_properties().size == 4
    assert time.monotonic() - started >= 1.0
