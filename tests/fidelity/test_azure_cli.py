"""The unmodified Azure CLI against the sandbox as a custom cloud (tools/fidelity.py).

Skipped unless `.venv-az/bin/az` exists (`make fidelity` installs it), so `make test` stays
free of the CLI. One test runs the whole script, as an operator would, then each step's
outcome is asserted, so a failure names the command and what it printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZ = ROOT / ".venv-az" / "bin" / "az"
SCRIPT = ROOT / "tools" / "fidelity.py"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.azure_cli,
    pytest.mark.skipif(not AZ.exists(), reason="no .venv-az/bin/az: run `make fidelity`"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    report = tmp_path_factory.mktemp("fidelity") / "results.json"
    pytask = Path(sys.executable).with_name("pytask")
    command = [sys.executable, str(SCRIPT), "--az", str(AZ), "--pytask", str(pytask)]
    command += ["--json", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=540)
    assert report.exists(), f"the script wrote no results:\n{done.stdout}\n{done.stderr}"
    loaded: list[dict[str, Any]] = json.loads(report.read_text())
    return loaded


@pytest.mark.timeout(600)
def test_every_command_behaves_as_against_azure(results: list[dict[str, Any]]) -> None:
    failed = [r for r in results if r["outcome"] not in ("pass", "known")]
    assert not failed, "\n".join(
        f"{r['name']} ({r['outcome']}): {r['command']}\n{r['detail']}" for r in failed
    )


def test_the_script_covers_the_release_path(results: list[dict[str, Any]]) -> None:
    """The commands a VM application release needs are among those that passed."""
    passed = {r["name"] for r in results if r["outcome"] == "pass"}
    for needed in (
        "register the cloud (ARM metadata discovery)",
        "login: service principal with secret",
        "login: workload identity federation (--federated-token)",
        "blob upload --auth-mode login",
        "user delegation SAS (generate-sas --as-user)",
        "version create (package from the SAS URL)",
        "version show --expand ReplicationStatus",
        "vm application set",
        "vmss update-instances --instance-ids '*'",
        "Log Analytics query (az rest --resource)",
        "group delete (202 + Location, polled)",
    ):
        assert needed in passed


def test_known_gaps_are_only_the_documented_ones(results: list[dict[str, Any]]) -> None:
    documented = (ROOT / "docs" / "sandbox-fidelity.md").read_text()
    for result in results:
        if result["known"] is not None:
            assert result["name"] in documented, f"undocumented known gap: {result['name']}"


def test_no_secret_in_the_report(results: list[dict[str, Any]]) -> None:
    text = json.dumps(results)
    assert "-p ***" in text
    assert "sig=" not in text  # SAS signatures masked wherever the URL is shown
    assert "eyJ" not in text  # no JWT: System.AccessToken and the OIDC token are masked
