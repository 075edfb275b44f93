"""PublishVmApp end to end: `pytask run` against a private sandbox, asserting on the ##vso output
the agent would read and on the sandbox's own request log.

One sandbox for the module (storage account with shared-key access disabled, a gallery); each
test publishes its own application so the tests stay independent.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import yaml

from pytask.cloud import CloudSession
from pytask.localrun import read_connection_file
from pytask.tasks.publish import package, rules
from pytask.tasks.publish.blobs import BlobStore
from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.agent_env import run_pytask
from tests.helpers.vso import Output

pytestmark = pytest.mark.e2e

RG = "rg-publish"
ACCOUNT = "publishpkgs"
CONTAINER = "packages"
GALLERY = "releases"
SEED = {
    "resourceGroups": [{"name": RG, "location": "westeurope"}],
    "storageAccounts": [
        {
            "name": ACCOUNT,
            "resourceGroup": RG,
            "location": "westeurope",
            "allowSharedKeyAccess": False,
            "containers": [CONTAINER],
        }
    ],
    "galleries": [
        {
            "name": GALLERY,
            "resourceGroup": RG,
            "location": "westeurope",
            "applications": [{"name": "winapp", "osType": "Windows"}],
        }
    ],
}
WRITES = ("PUT", "PATCH", "DELETE")
JWT = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}\.")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    state = tmp_path_factory.mktemp("publish-sandbox") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.005)
    try:
        yield running
    finally:
        running.stop()


def base_inputs(app: str, **overrides: str) -> dict[str, str]:
    inputs = {
        "resourceGroup": RG,
        "galleryName": GALLERY,
        "applicationName": app,
        "version": "1.0.0",
        "osType": "Linux",
        "package": "app.bin",
        "storageAccount": ACCOUNT,
        "storageContainer": CONTAINER,
        "installCommand": "./install.sh",
        "removeCommand": "./remove.sh",
        "targetRegions": "westeurope\nnortheurope:2",
        "tags": "team: payments",
    }
    inputs.update(overrides)
    return inputs


def publish(
    cloud: RunningSandbox, sources: Path, work: Path, inputs: Mapping[str, str]
) -> tuple[Output, str, list[dict[str, Any]]]:
    """Run the task; returns its output, stderr and the sandbox requests it made."""
    before = len(cloud.requests_log())
    code, out, err = run_pytask(
        "PublishVmApp",
        connection=cloud.ready_file,
        inputs=inputs,
        work=work,
        sources=sources,
        variables={"Build.SourceVersion": "0123456789abcdef", "Build.BuildId": "42"},
    )
    assert code == 0, err
    return out, err, cloud.requests_log()[before:]


def writes(requests: list[dict[str, Any]]) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in requests if r["method"] in WRITES]


def world_version(cloud: RunningSandbox, app: str, version: str) -> dict[str, Any]:
    world = json.loads((cloud.state_dir / "world.json").read_text())
    suffix = f"/galleries/{GALLERY}/applications/{app}/versions/{version}".lower()
    found = [d for d in world["resources"] if d["id"].lower().endswith(suffix)]
    assert found, f"version {app} {version} not in the sandbox"
    return dict(found[0])


def blob_md5(cloud: RunningSandbox, url: str) -> bytes:
    """The blob's Content-MD5, read with the connection's Entra identity."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in cloud.env.items():
            patch.setenv(name, value)
        session = CloudSession.from_connection(
            read_connection_file(cloud.ready_file, None).connection
        )
        location = rules.blob_url(url)
        store = BlobStore(session, location.account_url)
        client = store.service.get_blob_client(location.container, location.blob)
        return bytes(client.get_blob_properties().content_settings.content_md5)


def leaked(out: Output, err: str, secret: str) -> bool:
    """Whether `secret` shows anywhere except in the setsecret command that masks it."""
    lines = [line for line in out.lines if not line.startswith("##vso[task.setsecret]")]
    return secret in "\n".join(lines) or secret in err


@pytest.fixture(scope="module")
def published(
    cloud: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Output, str, list[dict[str, Any]]]:
    """A first publish from a file (application created), shared by the tests that build on
    it: (sources, output, stderr, requests)."""
    root = tmp_path_factory.mktemp("published")
    sources = root / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"release one\n" * 1000)
    out, err, requests = publish(cloud, sources, root / "w1", base_inputs("fileapp"))
    return sources, out, err, requests


def test_publish_a_file_then_rerun_is_a_no_op(
    cloud: RunningSandbox,
    published: tuple[Path, Output, str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    sources, out, err, requests = published
    assert out.result == "Succeeded", out.errors
    outputs = out.outputs
    expected_sha = package.sha256_file(sources / "app.bin")
    assert outputs["packageSha256"] == expected_sha
    assert outputs["replicationState"] == "Completed"
    assert outputs["applicationVersionId"].endswith(
        f"/galleries/{GALLERY}/applications/fileapp/versions/1.0.0"
    )
    assert expected_sha in outputs["packageBlobUrl"] and "?" not in outputs["packageBlobUrl"]
    assert any(
        w.startswith("PUT") and w.endswith("/applications/fileapp") for w in writes(requests)
    )
    assert any(w.endswith("/versions/1.0.0") for w in writes(requests))
    # Per-region progress and a line per change.
    assert out.of("task.setprogress")
    assert any("North Europe: Completed 100%" in line for line in out.lines)
    summary_path = Path(out.of("task.uploadsummary")[0].message)
    summary = summary_path.read_text()
    assert expected_sha in summary and "North Europe" in summary and "portal" in summary

    version = world_version(cloud, "fileapp", "1.0.0")
    assert version["tags"]["vmapp.packageSha256"] == expected_sha
    assert version["tags"]["vmapp.sourceCommit"] == "0123456789abcdef"
    assert version["tags"]["team"] == "payments"
    profile = version["properties"]["publishingProfile"]
    assert [t["regionalReplicaCount"] for t in profile["targetRegions"]] == [1, 2]
    media_link = profile["source"]["mediaLink"]
    query = parse_qs(urlsplit(media_link).query)
    assert query["sp"] == ["r"] and query["spr"] == ["https"] and "skoid" in query
    signature = query["sig"][0]
    connection_secret = cloud["connection"]["parameters"]["serviceprincipalkey"]
    for secret in (signature, quote(signature, safe=""), connection_secret):
        assert not leaked(out, err, secret)
    assert not JWT.search(out.text + err)

    assert blob_md5(cloud, outputs["packageBlobUrl"]) == package.digests(sources / "app.bin")[1]
    world = json.loads((cloud.state_dir / "world.json").read_text())
    [account] = [d for d in world["resources"] if d["id"].lower().endswith(f"/{ACCOUNT}")]
    assert account["properties"]["allowSharedKeyAccess"] is False  # Entra only, really

    again, _, requests2 = publish(cloud, sources, tmp_path / "w2", base_inputs("fileapp"))
    assert again.result == "Succeeded", again.errors
    assert writes(requests2) == []
    assert [r for r in requests2 if r["method"] == "POST" and "token" not in r["path"]] == []
    assert any("nothing to write" in line for line in again.lines)
    assert again.outputs["packageSha256"] == expected_sha
    assert again.outputs["applicationVersionId"] == outputs["applicationVersionId"]


def test_publish_a_folder_deterministically(cloud: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "s"
    folder = sources / "dist"
    (folder / "bin").mkdir(parents=True)
    (folder / "install.sh").write_text("#!/bin/sh\ncp -r . /opt/app\n")
    (folder / "install.sh").chmod(0o755)
    (folder / "bin" / "app").write_bytes(bytes(range(256)) * 400)
    expected = package.prepare(folder, tmp_path / "expected", "x.zip").sha256
    inputs = base_inputs("folderapp", package="dist", targetRegions="westeurope")
    out, _, _ = publish(cloud, sources, tmp_path / "w1", inputs)
    assert out.result == "Succeeded", out.errors
    assert out.outputs["packageSha256"] == expected
    assert any("zipped" in line for line in out.lines)
    # New timestamps, same content: same bytes, so nothing to do.
    for path in folder.rglob("*"):
        path.touch()
    again, _, requests = publish(cloud, sources, tmp_path / "w2", inputs)
    assert again.result == "Succeeded", again.errors
    assert again.outputs["packageSha256"] == expected
    assert writes(requests) == []


def test_changed_content_fails_unless_overwrite(cloud: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"first")
    inputs = base_inputs("changeapp", targetRegions="westeurope")
    first, _, _ = publish(cloud, sources, tmp_path / "w1", inputs)
    assert first.result == "Succeeded", first.errors
    (sources / "app.bin").write_bytes(b"second")
    refused, _, requests = publish(cloud, sources, tmp_path / "w2", inputs)
    assert refused.result == "Failed"
    [message] = refused.errors
    assert "different package" in message and "ifVersionExists: overwrite" in message
    assert "'version'" in message
    assert writes(requests) == []
    inputs["ifVersionExists"] = "overwrite"
    replaced, _, requests = publish(cloud, sources, tmp_path / "w3", inputs)
    assert replaced.result == "Succeeded", replaced.errors
    assert replaced.outputs["packageSha256"] == package.sha256_file(sources / "app.bin")
    done = writes(requests)
    assert any(w.startswith("DELETE") for w in done) and any(w.startswith("PUT") for w in done)
    version = world_version(cloud, "changeapp", "1.0.0")
    assert version["tags"]["vmapp.packageSha256"] == replaced.outputs["packageSha256"]


def test_commands_cannot_change_on_an_existing_version(
    cloud: RunningSandbox, tmp_path: Path
) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"same")
    inputs = base_inputs("cmdapp", targetRegions="westeurope")
    assert publish(cloud, sources, tmp_path / "w1", inputs)[0].result == "Succeeded"
    inputs["installCommand"] = "./install.sh --other"
    out, _, requests = publish(cloud, sources, tmp_path / "w2", inputs)
    assert out.result == "Failed"
    assert "cannot change on an existing version" in out.errors[0]
    assert writes(requests) == []


def test_throttling_and_unavailability_are_retried(cloud: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"throttled")
    cloud.set_faults(
        """
rules:
  - {name: throttle-version-put, operation: GalleryApplicationVersions_CreateOrUpdate,
     count: 1, inject: status, status: 429, retry_after: 1}
  - {name: unavailable-version-get, operation: GalleryApplicationVersions_Get,
     count: 2, inject: status, status: 503, retry_after: 1}
"""
    )
    try:
        out, _, requests = publish(
            cloud, sources, tmp_path / "w", base_inputs("faultapp", targetRegions="westeurope")
        )
    finally:
        cloud.clear_faults()
    assert out.result == "Succeeded", out.errors
    statuses = [r["status"] for r in requests if "/versions/1.0.0" in r["path"]]
    assert 429 in statuses and 503 in statuses
    assert out.outputs["replicationState"] == "Completed"


def test_failed_replication_is_reported_then_recovered(
    cloud: RunningSandbox, tmp_path: Path
) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"fails once")
    inputs = base_inputs("failapp")
    cloud.set_faults(
        """
rules:
  - {name: replication-fails, operation: GalleryApplicationVersions_CreateOrUpdate,
     count: 1, inject: fail_operation, code: ReplicationFailed,
     message: "Replication to the region ran out of storage capacity."}
"""
    )
    try:
        out, _, _ = publish(cloud, sources, tmp_path / "w1", inputs)
    finally:
        cloud.clear_faults()
    assert out.result == "Failed"
    [message] = out.errors
    assert "Replication of version 1.0.0 failed" in message
    assert "North Europe" in message and "storage capacity" in message
    assert "ifVersionExists: overwrite" in message
    inputs["ifVersionExists"] = "overwrite"
    retried, _, _ = publish(cloud, sources, tmp_path / "w2", inputs)
    assert retried.result == "Succeeded", retried.errors
    assert retried.outputs["replicationState"] == "Completed"


def test_existing_application_with_another_os_fails_without_writing(
    cloud: RunningSandbox, tmp_path: Path
) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"linux build")
    out, _, requests = publish(cloud, sources, tmp_path / "w", base_inputs("winapp"))
    assert out.result == "Failed"
    assert "exists for Windows, but osType is Linux" in out.errors[0]
    assert writes(requests) == []


def test_missing_os_type_for_a_new_application_fails_without_writing(
    cloud: RunningSandbox, tmp_path: Path
) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"x")
    out, _, requests = publish(cloud, sources, tmp_path / "w", base_inputs("newapp", osType=""))
    assert out.result == "Failed"
    assert "set osType" in out.errors[0]
    assert writes(requests) == []


def test_wait_for_replication_false_returns_while_replicating(
    cloud: RunningSandbox, tmp_path: Path
) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"no wait")
    started = time.monotonic()
    out, _, _ = publish(
        cloud, sources, tmp_path / "w", base_inputs("nowaitapp", waitForReplication="false")
    )
    assert out.result == "Succeeded", out.errors
    assert out.outputs["replicationState"] in ("Replicating", "Completed")
    assert any("Not waiting for replication" in line for line in out.lines)
    assert time.monotonic() - started < 30


def test_publish_an_existing_blob_with_a_configuration(
    cloud: RunningSandbox,
    published: tuple[Path, Output, str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    _, first, _, _ = published
    assert first.result == "Succeeded", first.errors
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "agent.json").write_text('{"level": "info"}')
    blob_url = first.outputs["packageBlobUrl"]
    inputs = base_inputs(
        "urlapp",
        package="",
        packageUrl=blob_url,
        configFile="agent.json",
        configFileName="agent.json",
        targetRegions="westeurope",
    )
    out, err, requests = publish(cloud, sources, tmp_path / "w2", inputs)
    assert out.result == "Succeeded", out.errors
    assert out.outputs["packageSha256"] == first.outputs["packageSha256"]
    assert out.outputs["packageBlobUrl"] == blob_url
    version = world_version(cloud, "urlapp", "1.0.0")
    source = version["properties"]["publishingProfile"]["source"]
    assert source["mediaLink"].startswith(blob_url + "?")
    config_link = source["defaultConfigurationLink"]
    assert "/urlapp/1.0.0/config-" in config_link and "agent.json?" in config_link
    assert version["properties"]["publishingProfile"]["settings"]["configFileName"] == "agent.json"
    assert version["tags"]["vmapp.configSha256"] == package.sha256_file(sources / "agent.json")
    config_sig = parse_qs(urlsplit(config_link).query)["sig"][0]
    assert not leaked(out, err, config_sig)
    # The package blob was given: only the configuration was uploaded, and nothing re-uploaded.
    assert any(w.endswith("/versions/1.0.0") for w in writes(requests))


def test_missing_gallery_is_a_clear_failure(cloud: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"x")
    out, _, requests = publish(
        cloud, sources, tmp_path / "w", base_inputs("any", galleryName="nosuchgallery")
    )
    assert out.result == "Failed"
    [message] = out.errors
    assert "The gallery 'nosuchgallery' does not exist" in message
    assert writes(requests) == []
