"""Reliability 4: secrets never in logs.

The scan itself runs at the end of every session (tests/conftest.py, tests/helpers/
secret_scan.py) over every file under the session's base temp directory. These tests show
that it can fail (each kind of leak, in each disguise, is found and named without the
secret), that it leaves alone only the files that hold secrets by design, and that a real
publication with debug output on shows no SAS, while the sandbox recorded the SAS signatures
and delegation keys the scan needs to look for.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from tests.conftest import start_sandbox
from tests.helpers import secret_scan
from tests.helpers.agent_env import run_pytask

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXNlZ21lbnQtb2YtdGhlLXRva2Vu"
SAS_SIG = "k2Zx/9+abcDEFghiJKLmnoPQRstuvWX0123456789ab="
ACCOUNT_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTIzNDU2Nzg5MGFiY2RlZmdoaWpr=="
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "-----END PRIVATE KEY-----\n"
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
    "-----END CERTIFICATE-----\n"
)
PASSWORD = "Pa55;word]for-lab"


def _registry(folder: Path, entries: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"kind": kind, "value": value}) for kind, value in entries]
    (folder / secret_scan.ISSUED_NAME).write_text("\n".join(lines) + "\n")


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder outside the session's base temp: the planted leaks below must not fail the
    session's own scan."""
    with tempfile.TemporaryDirectory(prefix="secret-scan-") as folder:
        yield Path(folder)


def test_every_kind_of_leak_is_found_in_every_disguise(outside: Path) -> None:
    tmp_path = outside
    _registry(
        tmp_path / "state",
        [
            ("access-token", JWT),
            ("sas-signature", SAS_SIG),
            ("storage-account-key", ACCOUNT_KEY),
            ("certificate-private-key", PRIVATE_KEY),
            ("lab-vm-password", PASSWORD),
        ],
    )
    signature = JWT.rsplit(".", 1)[1]
    leaks = {
        "token.log": f"Authorization: Bearer ***.{signature}\n",
        "url.log": f"GET https://a.blob/c/b?sv=2024&sig={quote(SAS_SIG, safe='')}\n",
        "key.log": f"key={ACCOUNT_KEY.rstrip('=')}\n",
        "pem.log": "loaded MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n",
        "issue.log": "##vso[task.logissue type=error]bad Pa55%3Bword%5Dfor-lab\n",
    }
    for name, text in leaks.items():
        (tmp_path / "logs" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "logs" / name).write_text(text)
    # Public and by-design files: a certificate line, the world, a ready-file.
    (tmp_path / "logs" / "cert.log").write_text(
        "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
    )
    (tmp_path / "state" / "world.json").write_text(json.dumps({"keys": [ACCOUNT_KEY]}))
    (tmp_path / "sandbox.ready.json").write_text(json.dumps({"token": JWT}))
    connection = {"scheme": "ServicePrincipal", "parameters": {"serviceprincipalkey": PASSWORD}}
    (tmp_path / "logs" / "conn.json").write_text(json.dumps(connection))

    report = secret_scan.scan(tmp_path)

    found = {file: kind for file, kind, _ in report.hits}
    assert found == {
        "logs/token.log": "access-token",
        "logs/url.log": "sas-signature",
        "logs/key.log": "storage-account-key",
        "logs/pem.log": "certificate-private-key",
        "logs/issue.log": "lab-vm-password",
    }
    assert report.secrets_known == 5
    message = report.message(tmp_path)
    assert "logs/url.log: sas-signature (" in message
    for secret in (JWT, signature, SAS_SIG, ACCOUNT_KEY, PASSWORD, "MzEfYyjiWA4R4"):
        assert secret not in message


def test_task_logs_are_kept_as_the_agent_logs_them() -> None:
    stdout = (
        "##vso[task.setsecret]sv=2024&sig=abc%2Bdef1234567890\n"
        "##vso[task.setvariable variable=pw;isOutput=true;issecret=true]hunter2hunter2\n"
        "##vso[task.setvariable variable=id;isOutput=true]/subscriptions/x\n"
        "plain line\n"
    )
    assert secret_scan.agent_log_view(stdout) == (
        "##vso[task.setvariable variable=id;isOutput=true]/subscriptions/x\nplain line\n"
    )
    assert list(secret_scan.declared_secrets(stdout)) == [
        ("task-setsecret", "sv=2024&sig=abc%2Bdef1234567890"),
        ("task-secret-variable", "hunter2hunter2"),
    ]
    needles = {n.text for n in secret_scan.needles_for("task-setsecret", "sv=1&sig=abc%2Bdef12")}
    assert {"abc%2Bdef12", "abc+def12"} <= needles


SEED = {
    "resourceGroups": [{"name": "rg-secrets", "location": "westeurope"}],
    "storageAccounts": [
        {
            "name": "secretspkgs",
            "resourceGroup": "rg-secrets",
            "location": "westeurope",
            "allowSharedKeyAccess": False,
            "containers": ["packages"],
        }
    ],
    "galleries": [{"name": "g", "resourceGroup": "rg-secrets", "location": "westeurope"}],
}
SAS_QUERY = re.compile(r"[?&]sig=(?!\*\*\*)", re.IGNORECASE)


def test_a_debug_publication_shows_no_sas_and_the_scan_knows_its_secrets(tmp_path: Path) -> None:
    cloud = start_sandbox(tmp_path / "state", seed=yaml.safe_dump(SEED), time_scale=0.005)
    try:
        sources = tmp_path / "s"
        sources.mkdir()
        (sources / "app.bin").write_bytes(b"payload" * 100)
        (sources / "agent.json").write_text('{"mode": "test"}')
        code, out, err = run_pytask(
            "PublishVmApp",
            connection=cloud.ready_file,
            work=tmp_path / "w",
            sources=sources,
            variables={"System.Debug": "true"},
            inputs={
                "resourceGroup": "rg-secrets",
                "galleryName": "g",
                "applicationName": "app",
                "version": "1.0.0",
                "osType": "Linux",
                "package": "app.bin",
                "configFile": "agent.json",
                "storageAccount": "secretspkgs",
                "storageContainer": "packages",
                "installCommand": "./install.sh",
                "removeCommand": "./remove.sh",
                "targetRegions": "westeurope",
            },
        )
    finally:
        cloud.stop()
    assert code == 0 and out.result == "Succeeded", out.errors or err
    logged = secret_scan.agent_log_view(out.text) + err
    assert not SAS_QUERY.search(logged), "a SAS signature is printed unmasked"
    issued = secret_scan.known_secrets(tmp_path)
    kinds = {kind for kind, _ in issued}
    # The sandbox saw both SAS (package and configuration) and handed out a delegation key.
    assert sum(kind == "sas-signature" for kind, _ in issued) >= 2
    assert {"user-delegation-key", "access-token", "task-setsecret"} <= kinds | {
        kind for kind, _ in secret_scan.declared_secrets(out.text)
    }
    report = secret_scan.scan(tmp_path)
    assert report.files_scanned > 0 and report.hits == [], report.message(tmp_path)
