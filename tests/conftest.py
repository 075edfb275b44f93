"""Shared fixtures: the sandbox (the local Azure cloud) as a real subprocess over HTTPS.

- `sandbox` (session): one sandbox for the whole run, seeded with SESSION_SEED, time scale 0.01.
- `sandbox_factory`: start private sandboxes (own state dir, seed, faults, time scale, page
  size); each is stopped at the end of the test.
- `sandbox_env`: points REQUESTS_CA_BUNDLE / SSL_CERT_FILE at the session sandbox's CA for one
  test (monkeypatched, so other tests are unaffected).

Every session ends with the secret scan (tests/helpers/secret_scan.py): no file under the
session's base temp directory may hold a secret the sandbox issued or a test supplied; a hit
fails the session and names the file and the kind of secret.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.helpers import secret_scan

if TYPE_CHECKING:
    from azure.identity import ClientSecretCredential
    from azure.mgmt.resource.resources import ResourceManagementClient


def principal_credential(ready: dict[str, Any], name: str = "spnKey") -> ClientSecretCredential:
    """azure-identity's credential for one of a sandbox's seeded principals (ready-file
    `principals`), pointed at the sandbox's Entra as at any custom cloud's."""
    from azure.identity import ClientSecretCredential

    principal = ready["principals"][name]
    return ClientSecretCredential(
        ready["tenant_id"],
        principal["client_id"],
        principal["secret"],
        authority=ready["authority_url"],
        disable_instance_discovery=True,  # not a public-cloud authority
        connection_verify=ready["ca_bundle"],
    )


START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

SESSION_SEED = """\
resourceGroups:
  - {name: rg-seeded, location: eastus, tags: {purpose: tests}}
identity:
  principals:
    - {name: readerApp, kind: spnKey}
    - {name: otherWif, kind: workloadIdentityFederation}
  roleAssignments:
    - {principal: readerApp, role: Reader, scope: "/subscriptions/{subscriptionId}"}
"""


def _pytask_command() -> list[str]:
    script = Path(sys.executable).with_name("pytask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pytask"]


@dataclass
class RunningSandbox:
    """A `pytask sandbox serve` child process and its ready-file."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    ready_file: Path
    stderr_path: Path
    ready: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.ready[key]

    @property
    def base_url(self) -> str:
        return str(self.ready["base_url"])

    @property
    def arm_url(self) -> str:
        return str(self.ready["arm_url"])

    @property
    def ca_bundle(self) -> str:
        return str(self.ready["ca_bundle"])

    @property
    def arm_scope(self) -> str:
        return str(self.ready["arm_audience"]) + ".default"

    def credential(self, name: str = "spnKey") -> ClientSecretCredential:
        return principal_credential(self.ready, name)

    def resources(self, name: str = "spnKey", **options: Any) -> ResourceManagementClient:
        """The unmodified ARM resources client as principal `name`, on the sandbox as a custom
        cloud, retrying fast (test time); `options` go to the client (polling_interval...)."""
        from azure.mgmt.resource.resources import ResourceManagementClient

        options = {"retry_backoff_factor": 0.01, **options}
        return ResourceManagementClient(
            self.credential(name),
            self["subscription_id"],
            base_url=self.arm_url,
            credential_scopes=[self.arm_scope],
            **options,
        )

    def arm_token(self) -> str:
        """An ARM access token for the ready-file's service principal (client secret grant)."""
        spn = self.ready["principals"]["spnKey"]
        response = requests.post(
            f"{self.base_url}/{self.ready['tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": spn["client_id"],
                "client_secret": spn["secret"],
                "scope": self.arm_scope,
            },
            verify=self.ca_bundle,
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    @property
    def env(self) -> dict[str, str]:
        """Environment for clients: trust the sandbox's CA."""
        return {"REQUESTS_CA_BUNDLE": self.ca_bundle, "SSL_CERT_FILE": self.ca_bundle}

    def _lines(self, name: str) -> list[dict[str, Any]]:
        path = self.state_dir / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def requests_log(self) -> list[dict[str, Any]]:
        return self._lines("requests.jsonl")

    def faults_log(self) -> list[dict[str, Any]]:
        return self._lines("faults.jsonl")

    def set_faults(self, yaml_text: str) -> None:
        """Replace the fault rules now (counters restart)."""
        response = requests.put(
            f"{self.base_url}/_sandbox/faults",
            data=yaml_text.encode("utf-8"),
            verify=self.ca_bundle,
            timeout=10,
        )
        response.raise_for_status()

    def clear_faults(self) -> None:
        self.set_faults("rules: []\n")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_sandbox(
    state_dir: Path,
    *,
    seed: str | None = None,
    faults: Path | None = None,
    time_scale: float = 0.01,
    page_size: int | None = None,
) -> RunningSandbox:
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir.parent / f"{state_dir.name}.ready.json"
    ready_file.unlink(missing_ok=True)
    command = [
        *_pytask_command(),
        "sandbox",
        "serve",
        "--port",
        "0",
        "--state",
        str(state_dir),
        "--ready-file",
        str(ready_file),
        "--time-scale",
        str(time_scale),
    ]
    if seed is not None:
        seed_file = state_dir.parent / f"{state_dir.name}.seed.yml"
        seed_file.write_text(seed)
        command += ["--seed", str(seed_file)]
    if faults is not None:
        command += ["--faults", str(faults)]
    if page_size is not None:
        command += ["--page-size", str(page_size)]
    stderr_path = state_dir.parent / f"{state_dir.name}.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    sandbox = RunningSandbox(process, state_dir, ready_file, stderr_path)
    deadline = time.monotonic() + START_TIMEOUT
    while not ready_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode}:\n{sandbox.stderr()}")
        if time.monotonic() > deadline:
            sandbox.stop()
            raise RuntimeError(f"sandbox not ready in {START_TIMEOUT}s:\n{sandbox.stderr()}")
        time.sleep(0.05)
    sandbox.ready = json.loads(ready_file.read_text())
    return sandbox


@pytest.fixture(scope="session", autouse=True)
def _secret_registry(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where this process registers test-supplied secrets and keeps task logs."""
    secret_scan.use_base(tmp_path_factory.getbasetemp())


_SCAN_FAILED = pytest.StashKey[str]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # Quick reliability figures are per session; the soak's committed ones (bench/) are
    # replaced part by part as the soak records them.
    from tests.reliability import ledger

    if not ledger.soak() and not hasattr(session.config, "workerinput"):
        ledger.results_path().unlink(missing_ok=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan every log and report of the session for known secrets (once: on the xdist
    controller, whose base temp holds the workers' ones)."""
    if hasattr(session.config, "workerinput"):
        return
    from tests.reliability import ledger

    root = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    report = secret_scan.scan(root)
    ledger.record(
        "secrets",
        files_scanned=report.files_scanned,
        secrets_known=report.secrets_known,
        needles=report.needles,
        hits=len(report.hits),
    )
    if report.hits:
        session.config.stash[_SCAN_FAILED] = report.message(root)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The reliability figures (here, not in tests/reliability/: an xdist controller loads
    only this conftest), then the secret scan's hits if there were any."""
    from tests.reliability import ledger

    table = ledger.table()
    if table:
        terminalreporter.write_sep("=", "reliability")
        terminalreporter.write_line(table)
    message = terminalreporter.config.stash.get(_SCAN_FAILED, None)
    if message:
        terminalreporter.write_sep("=", "SECRETS IN LOGS", red=True, bold=True)
        terminalreporter.write_line(message)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox") / "state", seed=SESSION_SEED)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sandbox_env(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    return sandbox


@pytest.fixture
def sandbox_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningSandbox]]:
    started: list[RunningSandbox] = []

    def factory(state_dir: Path | None = None, **options: Any) -> RunningSandbox:
        directory = state_dir or tmp_path_factory.mktemp("private-sandbox") / "state"
        running = start_sandbox(directory, **options)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()
