"""The sandbox's Azure DevOps REST surface against the official examples
(copies in tests/sandbox/examples/devops/): the same requests answer with the same shapes, and
errors come in the service's own JSON shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RunningSandbox, start_sandbox

EXAMPLES = Path(__file__).resolve().parents[1] / "sandbox" / "examples" / "devops"
SEED = """\
devops:
  users:
    - {name: Rita Release, email: rita@contoso.com, pat: rita-pat}
    - {name: Bob Builder, email: bob@contoso.com, pat: bob-pat}
  environments:
    - {name: prod, approvers: [rita@contoso.com], requesterCannotBeApprover: true}
  runs:
    - {runId: 7, pipeline: web, stage: prod, environment: prod, requestedBy: bob@contoso.com}
"""


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text("utf-8"))
    return document


def example_body(name: str) -> Any:
    responses = example(name)["responses"]
    return responses[next(iter(responses))].get("body")


@pytest.fixture(scope="module")
def devops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("devops-rest") / "state", seed=SEED)
    try:
        yield running
    finally:
        running.stop()


def call(
    sandbox: RunningSandbox, method: str, path: str, pat: str = "rita-pat", **kwargs: Any
) -> requests.Response:
    base = sandbox.ready["devops"]["collection_uri"] + sandbox.ready["devops"]["project"]
    return requests.request(
        method,
        f"{base}/_apis/{path}",
        auth=("", pat) if pat else None,
        verify=sandbox.ca_bundle,
        timeout=10,
        params={"api-version": "7.1", **kwargs.pop("params", {})},
        **kwargs,
    )


def test_check_configuration_lifecycle_matches_the_examples(devops: RunningSandbox) -> None:
    request = example("POST__AddApprovalCheckConfiguration.json")["parameters"]["body"]
    created = call(devops, "POST", "pipelines/checks/configurations", json=request)
    assert created.status_code == 200
    body = created.json()
    assert set(body) == set(example_body("POST__AddApprovalCheckConfiguration.json"))
    assert body["settings"] == request["settings"] and body["type"] == request["type"]
    assert set(body["createdBy"]) == set(example_body("GET__CheckConfiguration.json")["createdBy"])

    plain = call(devops, "GET", f"pipelines/checks/configurations/{body['id']}").json()
    assert set(plain) == set(example_body("GET__CheckConfiguration.json"))  # no settings
    listed = call(
        devops,
        "GET",
        "pipelines/checks/configurations",
        params={"resourceType": "queue", "resourceId": "1"},
    ).json()
    assert listed["count"] == 1 and set(listed["value"][0]) == set(
        example_body("GET__CheckConfigurationsOnResource.json")["value"][0]
    )

    deleted = call(devops, "DELETE", f"pipelines/checks/configurations/{body['id']}")
    assert deleted.status_code == 204 and not deleted.content
    gone = call(devops, "GET", f"pipelines/checks/configurations/{body['id']}")
    assert gone.status_code == 404
    assert gone.json()["typeKey"] == "CheckConfigurationNotFoundException"


def test_approvals_match_the_examples(devops: RunningSandbox) -> None:
    spec = json.loads((EXAMPLES / "pipelinesapproval-7.1.swagger-excerpt.json").read_text())
    declared = set(spec["definitions"]["Approval"]["properties"]) | {"pipeline"}
    query = call(devops, "GET", "pipelines/approvals", params={"state": "pending"}).json()
    assert query["count"] == 1
    approval = query["value"][0]
    assert set(example_body("GET__Approval.json")) <= set(approval) <= declared
    assert approval["steps"] == []  # steps only with $expand=steps
    one = call(devops, "GET", f"pipelines/approvals/{approval['id']}").json()
    assert one["id"] == approval["id"] and one["status"] == "pending"

    update = [{"approvalId": approval["id"], "status": "approved", "comment": "Approving"}]
    answered = call(devops, "PATCH", "pipelines/approvals", json=update)
    assert answered.status_code == 200
    got = answered.json()["value"][0]
    want = example_body("PATCH__UpdateApproval.json")["value"][0]
    assert got["status"] == want["status"] == "approved"
    step, want_step = got["steps"][0], want["steps"][0]
    assert set(want_step) - {"lastModifiedOn"} <= set(step)
    assert set(step["assignedApprover"]) == set(want_step["assignedApprover"])
    assert step["actualApprover"]["displayName"] == "Rita Release"


def test_errors_have_the_service_shape(devops: RunningSandbox) -> None:
    refused = call(devops, "GET", "pipelines/approvals", pat="not-a-pat")
    assert refused.status_code == 401
    assert refused.json()["typeKey"] == "UnauthorizedRequestException"
    environment = {"name": "prod", "description": "again"}
    conflict = call(devops, "POST", "distributedtask/environments", json=environment)
    assert conflict.status_code == 409
    assert set(conflict.json()) >= {"message", "typeName", "typeKey", "errorCode"}
    unknown_project = requests.get(
        devops.ready["devops"]["collection_uri"] + "NoSuchProject/_apis/pipelines/approvals",
        auth=("", "rita-pat"),
        verify=devops.ca_bundle,
        timeout=10,
    )
    assert unknown_project.status_code == 404
    assert "TF200016" in unknown_project.json()["message"]


def test_discovery_lists_the_locations_the_clients_use(devops: RunningSandbox) -> None:
    org = devops.ready["devops"]["collection_uri"]
    options = requests.options(
        f"{org}_apis", auth=("", "rita-pat"), verify=devops.ca_bundle, timeout=10
    )
    ids = {location["id"] for location in options.json()["value"]}
    # environments (task_agent), check configurations (pipelines_checks), resource areas
    assert {
        "8572b1fc-2482-47fa-8f74-7e3ed53ee54b",
        "86c8381e-5aee-4cde-8ae4-25c0c7f5eaea",
        "e81700f7-3be2-46de-8624-2eb35882fcaa",
    } <= ids
    areas = requests.get(
        f"{org}_apis/ResourceAreas", auth=("", "rita-pat"), verify=devops.ca_bundle, timeout=10
    ).json()
    assert {a["locationUrl"] for a in areas["value"]} == {org}
