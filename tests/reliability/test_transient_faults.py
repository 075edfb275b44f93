"""Reliability 1 (issue 9): the demo's release under transient faults ends where it ends
without them.

The release is the demo's own (pytask/demo: its seeded world, the shipped release template
expanded as Azure Pipelines does, each task through its staged launcher, as on an agent). One
reference run has no faults; each faulted run has 15% of ARM and of Blob Storage requests fail,
and 5% of Entra's:

- ARM: 429 with Retry-After (4%), 500 (3%), 503 with Retry-After (3%), connection resets (3%),
  a 1.5 s slow answer (2%) -- on every ARM request, LRO status polls and reads included;
- Blob Storage: 503 ServerBusy (5%), 500 InternalError (3%) and OperationTimedOut (2%), resets
  (3%), slow answers (2%) -- Azure Storage throttles with 503, not 429 (its SDK does not
  retry a 429), so the mix is the one its docs describe;
- Entra (token endpoint and discovery): 429 with Retry-After, 503 and resets, 5% in all.
  Entra does throttle, but far less often than a busy ARM subscription; faulting it at the
  same rate would mostly test MSAL, not the tasks.
The Log Analytics query API (the health gate's data) is neither ARM nor storage and is left
alone: a gate that cannot query reports Inconclusive by design, a different test.

Each faulted run must end with the same pipeline outcome (every stage's status, every gate's
verdict) and the same final-state snapshot (tests/reliability/snapshot.py) as the reference.

Counts recorded (ledger part `transient_faults`): runs, faults injected (faults.jsonl),
retries made, final-state mismatches. Retries are counted from the sandbox's request logs
(requests.jsonl for ARM and Entra, blob-requests.jsonl for Blob Storage), a request being a
retry when either
- its client request id was already seen (azure-core's ARM pipeline keeps
  x-ms-client-request-id across its retries), or
- the last earlier request with the same method, path and operation was faulted (the storage
  SDK draws a new x-ms-client-request-id for each attempt; MSAL sends none to the log here);
so application-level retries (a task re-reading after a 409/412) and LRO polls, which are new
calls, are not counted, and each faulted request is followed by at most one counted retry.
Both counts include the blob reads the sandbox makes as Azure itself (GalleryRP reading the
package, each VM downloading it), which are faulted and retried like any other blob request.

Time: a blob fault on a task's request costs about 2 s (ClientPolicy.storage_client_kwargs:
the storage SDK's own default would wait 15 s before its first retry); ARM faults cost about
1 s each (Retry-After) or nothing (500, reset).

Quick (make test): the healthy version only (Publish, dev, test, prod), reference and two
faulted runs side by side. Soak: both versions (the second stopped by its gate and rolled
back), twenty faulted runs, two at a time.
"""

from __future__ import annotations

import importlib
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pytask.demo import world
from pytask.demo.console import Console
from pytask.demo.expand import Expander
from pytask.demo.model import ReleaseRun
from tests.reliability import ledger, snapshot

# The module, not the `main` function pytask.demo exports under the same name.
demo = importlib.import_module("pytask.demo.main")

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

RUNS = ledger.scale(2, 20)
VERSIONS = (world.HEALTHY, world.UNHEALTHY) if ledger.soak() else (world.HEALTHY,)
# Runs side by side, each with its own sandbox: a faulted run mostly waits (Retry-After, the
# storage SDK's backoff), so the quick slice runs its three at once; the soak, two at a time.
SIDE_BY_SIDE = 2 if ledger.soak() else 3

# Each service's share of failing requests, by kind, in rule order.
ARM_MIX = (
    ({"status": 429, "retry_after": 1}, 0.04),
    ({"status": 500}, 0.03),
    ({"status": 503, "retry_after": 1}, 0.03),
    ({"inject": "reset"}, 0.03),
    ({"inject": "delay", "seconds": 1.5}, 0.02),
)
BLOB_MIX = (
    ({"status": 503}, 0.05),
    ({"status": 500}, 0.03),
    (
        {
            "status": 500,
            "code": "OperationTimedOut",
            "message": "Operation could not be completed within the specified time.",
        },
        0.02,
    ),
    ({"inject": "reset"}, 0.03),
    ({"inject": "delay", "seconds": 1.5}, 0.02),
)
IDENTITY_MIX = (
    ({"status": 429, "retry_after": 1}, 0.02),
    ({"status": 503, "retry_after": 1}, 0.02),
    ({"inject": "reset"}, 0.01),
)


def fault_rules() -> dict[str, Any]:
    """The faults document: per service, rules whose probabilities are conditional on the
    earlier rules not firing (the first rule that fires wins), so each kind gets its share."""
    rules = []
    for service, mix in (("arm", ARM_MIX), ("blob", BLOB_MIX), ("identity", IDENTITY_MIX)):
        left = 1.0
        for index, (fault, share) in enumerate(mix):
            name = f"{service}-{fault.get('inject', fault.get('status'))}-{index}"
            rules.append({"name": name, "service": service, "probability": share / left, **fault})
            left -= share
    return {"rules": rules}


@dataclass
class Release:
    """What one run of the release left behind."""

    outcome: list[tuple[str, str, str, str]]  # version, stage, status, gate verdict
    state: dict[str, Any]
    faults: Counter[str] = field(default_factory=Counter)  # injected, by service
    retries: int = 0
    log: Path | None = None
    errors: list[str] = field(default_factory=list)  # what failed steps said
    seconds: float = 0.0  # the release's wall time (sandbox start to snapshot)


def _outcome(runs: Sequence[ReleaseRun]) -> list[tuple[str, str, str, str]]:
    rows = []
    for run in runs:
        for stage in run.stages:
            gate = stage.step("healthGate")
            verdict = gate.outputs.get("verdict", "?") if gate else "-"
            rows.append((run.version, stage.name, stage.status, verdict))
    return rows


def expected_outcome() -> list[tuple[str, str, str, str]]:
    """The demo's story: the healthy version reaches prod through two passing gates; the
    unhealthy one is stopped by its test gate (then rolled back) and never reaches prod."""
    rows = [
        (world.HEALTHY, "Publish", "succeeded", "-"),
        (world.HEALTHY, "dev", "succeeded", "-"),
        (world.HEALTHY, "test", "succeeded", "Passed"),
        (world.HEALTHY, "prod", "succeeded", "Passed"),
        (world.UNHEALTHY, "Publish", "succeeded", "-"),
        (world.UNHEALTHY, "dev", "succeeded", "-"),
        (world.UNHEALTHY, "test", "failed", "Failed"),
        (world.UNHEALTHY, "prod", "skipped", "-"),
    ]
    return [row for row in rows if row[0] in VERSIONS]


def _errors(runs: Sequence[ReleaseRun]) -> list[str]:
    return [
        f"{run.version} {stage.name} {step.name}: {error}"
        for run in runs
        for stage in run.stages
        for step in stage.steps
        if not step.succeeded
        for error in step.errors or ["(no error logged)"]
    ]


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def count_retries(log: Sequence[dict[str, Any]]) -> int:
    """Retries in one request log, as the module docstring defines them."""
    seen_ids: set[str] = set()
    unanswered: Counter[tuple[str, str, str]] = Counter()  # faulted, not yet followed
    retries = 0
    for record in log:
        key = (record["method"], record["path"].lower(), str(record.get("operation")))
        client_id = record.get("client_request_id")
        if (client_id and client_id in seen_ids) or unanswered[key] > 0:
            retries += 1
            unanswered[key] = max(0, unanswered[key] - 1)
        if client_id:
            seen_ids.add(client_id)
        if record.get("fault"):
            unanswered[key] += 1
    return retries


def _clear_faults(sandbox: world.Sandbox) -> None:
    answer = requests.put(
        f"{sandbox.ready['base_url']}/_sandbox/faults",
        data=b"rules: []\n",
        verify=sandbox.ready["ca_bundle"],
        timeout=10,
    )
    answer.raise_for_status()


def run_release(root: Path, staged: Path, pipeline: dict[str, Any], faults: Path | None) -> Release:
    """The demo's release of VERSIONS on a fresh sandbox under `root`."""
    out = Console(verbose=False, colour=False)
    started = time.monotonic()
    sandbox = world.start_sandbox(root, faults)
    try:
        seeded = len(sandbox.requests())
        runs = [
            demo._release(out, pipeline, sandbox, staged, root, version, build_id)
            for build_id, version in enumerate(VERSIONS, start=101)
        ]
        _clear_faults(sandbox)  # the snapshot reads the world without faults
        state_dir = root / "sandbox"
        arm_log = sandbox.requests()[seeded:]
        blob_log = _lines(state_dir / "blob-requests.jsonl")
        injected = Counter(str(f.get("service")) for f in _lines(state_dir / "faults.jsonl"))
        release = Release(_outcome(runs), snapshot.take(sandbox.ready_file), injected)
        release.retries = count_retries(arm_log) + count_retries(blob_log)
        release.log = sandbox.stderr_file
        release.errors = _errors(runs)
        release.seconds = time.monotonic() - started
        return release
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo._stage(Console(colour=False), tmp_path_factory.mktemp("stage") / "extension")


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    return Expander(repositories={"vmapp": demo.REPO}).expand_pipeline(demo.PIPELINE)


@pytest.fixture(scope="module")
def faults_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("faults") / "faults.yml"
    path.write_text(yaml.safe_dump(fault_rules(), sort_keys=False), encoding="utf-8")
    yield path


def test_retry_counting_follows_ids_and_faulted_predecessors() -> None:
    log = [
        {"method": "PUT", "path": "/a", "client_request_id": "1", "fault": "arm-429-0"},
        {"method": "PUT", "path": "/a", "client_request_id": "1", "fault": None},  # retry (id)
        {"method": "PUT", "path": "/b", "client_request_id": "2", "fault": "blob-503-0"},
        {"method": "PUT", "path": "/b", "client_request_id": "3", "fault": None},  # retry (path)
        {"method": "PUT", "path": "/b", "client_request_id": "4", "fault": None},  # a new call
        {"method": "GET", "path": "/op", "client_request_id": "5", "fault": None},  # a poll
        {"method": "GET", "path": "/op", "client_request_id": "6", "fault": None},  # a poll
    ]
    assert count_retries(log) == 2


def test_fault_rules_give_each_service_its_share() -> None:
    rules = fault_rules()["rules"]
    for service, total in (("arm", 0.15), ("blob", 0.15), ("identity", 0.05)):
        chance_none = 1.0
        for rule in (r for r in rules if r["service"] == service):
            chance_none *= 1 - rule["probability"]
        assert 1 - chance_none == pytest.approx(total)


@pytest.mark.timeout(3600)
def test_the_release_ends_in_the_same_state_under_transient_faults(
    tmp_path: Path, staged: Path, pipeline: dict[str, Any], faults_file: Path
) -> None:
    def one(index: int) -> Release:
        faults = None if index == 0 else faults_file
        return run_release(tmp_path / f"run-{index}", staged, pipeline, faults)

    # The reference runs alongside the first faulted run: each has its own sandbox.
    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        releases = list(pool.map(one, range(RUNS + 1)))
    reference, faulted = releases[0], releases[1:]
    assert sum(reference.faults.values()) == 0

    mismatches = []
    for index, release in enumerate(faulted, start=1):
        problems = []
        if release.outcome != reference.outcome:
            problems.append(f"pipeline outcome {release.outcome} (expected {reference.outcome})")
            problems += release.errors
        problems += snapshot.differences(reference.state, release.state)
        if problems:
            mismatches.append((index, problems, release.log))
    injected: Counter[str] = Counter()
    for release in faulted:
        injected.update(release.faults)
    ledger.record(
        "transient_faults",
        runs=len(faulted),
        versions_per_run=len(VERSIONS),
        faults_injected=sum(injected.values()),
        faults_by_service=dict(sorted(injected.items())),
        retries_made=sum(r.retries for r in faulted),
        final_state_mismatches=len(mismatches),
        reference_seconds=round(reference.seconds, 1),
        faulted_seconds_max=round(max(r.seconds for r in faulted), 1),
    )
    assert reference.outcome == expected_outcome(), "the reference run did not tell the story"
    assert sum(injected.values()) > 0, "no fault was injected: the rules did not apply"
    assert not mismatches, "\n".join(
        f"faulted run {i} (sandbox log {log}):\n  " + "\n  ".join(p[:20])
        for i, p, log in mismatches
    )
