"""Reliability 5: bad input. Every case of the corpus (bad_inputs.py) runs through `pytask run`
as the agent runs it, against one sandbox for the module, and must end `Failed` with exit code
0 and exactly one error that names the input and says what is valid, having written nothing.

"Written nothing": the sandbox's request log holds no request whose method is other than
GET, HEAD or OPTIONS, token endpoints excepted (Entra's /oauth2/v2.0/token, managed identity,
the DevOps OIDC token: asking for a token changes nothing in the cloud). Blob Storage requests
are logged apart (STATE/blob-requests.jsonl) and counted the same way (so a user delegation
key's POST counts too: a bad input must not get that far either). Cases run several at
a time (threads around subprocesses); the write count is checked for the whole run, since
requests cannot be told apart by case.

Quick slice (make test): every QUICK_STRIDE-th case plus the first of each task; soak: all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.agent_env import run_pytask
from tests.reliability import ledger
from tests.reliability.bad_inputs import BASE, CORPUS, FILES, Case

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

QUICK_STRIDE = 8
PARALLEL = 3
READS = ("GET", "HEAD", "OPTIONS")
TOKEN_PATHS = ("/oauth2/v2.0/token", "/oauth2/token", "/metadata/identity/", "/msi/token")
SEED = {
    "resourceGroups": [{"name": "rg-bad", "location": "westeurope"}],
    "storageAccounts": [
        {
            "name": "badpkgs",
            "resourceGroup": "rg-bad",
            "location": "westeurope",
            "containers": ["packages"],
        }
    ],
    "galleries": [{"name": "g", "resourceGroup": "rg-bad", "location": "westeurope"}],
}


def selected() -> list[Case]:
    """The whole corpus in soak; in the quick slice a deterministic subset with every task."""
    if ledger.soak():
        return list(CORPUS)
    firsts = {case.task: case for case in reversed(CORPUS)}.values()
    stride = CORPUS[::QUICK_STRIDE]
    return [*stride, *(case for case in firsts if case not in stride)]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    state = tmp_path_factory.mktemp("bad-input-sandbox") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED))
    try:
        yield running
    finally:
        running.stop()


def is_write(request: dict[str, Any]) -> bool:
    if request["method"].upper() in READS:
        return False
    path = request["path"].lower()
    return not (any(p in path for p in TOKEN_PATHS) or path.endswith("/oidctoken"))


def case_inputs(case: Case, subscription: str) -> dict[str, str]:
    inputs: dict[str, str | None] = {**BASE[case.task], **case.inputs}
    return {k: v.replace("{sub}", subscription) for k, v in inputs.items() if v is not None}


def write_files(folder: Path) -> None:
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            path.write_text(text)


def run_case(cloud: RunningSandbox, case: Case, folder: Path) -> list[str]:
    """The case's problems (empty: it behaved)."""
    sources = folder / "s"
    write_files(sources)
    code, out, err = run_pytask(
        case.task,
        connection=cloud.ready_file,
        inputs=case_inputs(case, cloud["subscription_id"]),
        work=folder / "w",
        sources=sources,
    )
    problems = []
    if code != 0:
        problems.append(f"exit code {code}")
    if out.result != "Failed":
        problems.append(f"result {out.result!r}, expected Failed")
    if len(out.errors) != 1:
        problems.append(f"{len(out.errors)} errors: {out.errors}")
    for error in out.errors[:1]:
        if f"({case.names})" not in error and f"'{case.names}'" not in error:
            problems.append(f"the error does not name {case.names}: {error!r}")
        if case.says.lower() not in error.lower():
            problems.append(f"the error does not say {case.says!r}: {error!r}")
        if "unexpectedly" in error or "Traceback" in err:
            problems.append(f"an unexpected failure: {error!r} {err[-400:]}")
    return problems


@pytest.mark.timeout(1800)
def test_every_bad_input_fails_with_one_clear_error_and_no_write(
    cloud: RunningSandbox, tmp_path: Path
) -> None:
    cases = selected()
    started = time.monotonic()
    before, blobs_before = len(cloud.requests_log()), len(blob_log(cloud))
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(
            pool.map(lambda ic: run_case(cloud, ic[1], tmp_path / f"c{ic[0]}"), enumerate(cases))
        )
    requests = cloud.requests_log()[before:]
    writes = [f"{r['method']} {r['path']}" for r in requests if is_write(r)]
    blobs = [f"{r['method']} {r['path']}" for r in blob_log(cloud)[blobs_before:] if is_write(r)]
    failed = {case.id: found for case, found in zip(cases, results, strict=True) if found}
    ledger.record(
        "bad_input",
        cases=len(cases),
        corpus=len(CORPUS),
        passed=len(cases) - len(failed),
        writes=len(writes),
        blobs_written=len(blobs),
        requests=len(requests),
        seconds=round(time.monotonic() - started, 1),
    )
    report = "\n".join(f"{name}: {'; '.join(found)}" for name, found in failed.items())
    assert not failed, f"{len(failed)} of {len(cases)} cases misbehaved:\n{report}"
    assert writes == [] and blobs == [], f"writes during bad-input runs: {writes} {blobs}"


def blob_log(cloud: RunningSandbox) -> list[dict[str, Any]]:
    """STATE/blob-requests.jsonl: every Blob Storage request Azurite answered."""
    path = cloud.state_dir / "blob-requests.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def test_the_corpus_is_large_and_covers_every_task() -> None:
    assert len(CORPUS) >= 150
    assert {case.task for case in CORPUS} == set(BASE)
    assert {case.task for case in selected()} == set(BASE)
    for case in CORPUS:
        assert set(case.inputs) <= {i for i in _input_names(case.task)}, case.id


def _input_names(task: str) -> set[str]:
    from tests.helpers.agent_env import REPO

    definition = json.loads((REPO / "tasks" / task / "task.json").read_text())
    return {item["name"] for item in definition["inputs"]}
