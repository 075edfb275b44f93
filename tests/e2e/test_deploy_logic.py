"""DeployVmApp's pure logic, without a cloud: profile editing, status reading, input rules,
rollback state, batching. (End-to-end behaviour is in test_deploy.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytask.agent import TaskError
from pytask.tasks.deploy import profile, status
from pytask.tasks.deploy.rollout import Deadline, RolloutTimeout, batches, expected_version
from pytask.tasks.deploy.spec import (
    Amount,
    parse_batch,
    parse_failures,
    parse_tag_filter,
)
from pytask.tasks.deploy.state import RollbackState
from pytask.tasks.resource_ids import parse_targets

APPS = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/gal/applications"


def ref(app: str, version: str) -> str:
    return f"{APPS}/{app}/versions/{version}"


def test_replacing_an_entry_keeps_the_others_and_their_order() -> None:
    current = {
        "galleryApplications": [
            {"packageReferenceId": ref("a", "1.0.0"), "order": 3},
            {"packageReferenceId": ref("web", "1.0.0"), "tags": "x"},
            {"packageReferenceId": ref("z", "2.0.0")},
        ]
    }
    new = profile.new_entry(ref("web", "1.1.0"), order=None, configuration_reference=None,
                            treat_failure=True, automatic_upgrade=False, tags=None)  # fmt: skip
    updated = profile.with_entry(current, f"{APPS}/WEB", new)
    assert [e["packageReferenceId"] for e in updated["galleryApplications"]] == [
        ref("a", "1.0.0"),
        ref("web", "1.1.0"),
        ref("z", "2.0.0"),
    ]
    assert updated["galleryApplications"][0] == {
        "packageReferenceId": ref("a", "1.0.0"),
        "order": 3,
    }
    assert current["galleryApplications"][1]["packageReferenceId"].endswith("1.0.0")
    removed = profile.with_entry(updated, f"{APPS}/web", None)
    assert [e["packageReferenceId"] for e in removed["galleryApplications"]] == [
        ref("a", "1.0.0"),
        ref("z", "2.0.0"),
    ]
    added = profile.with_entry({}, f"{APPS}/web", new)
    assert added == {"galleryApplications": [new]}


def test_same_entry_ignores_case_and_absent_false_flags() -> None:
    a = {"packageReferenceId": ref("web", "1.0.0"), "treatFailureAsDeploymentFailure": False}
    b = {"packageReferenceId": ref("web", "1.0.0").upper()}
    assert profile.same_entry(a, b)
    assert not profile.same_entry(a, {**b, "order": 2})
    assert profile.same_entry(None, None) and not profile.same_entry(a, None)
    assert profile.application_of(ref("Web", "1.0.0")) == f"{APPS}/web".lower()


def extension_view(message: str, code: str = "ProvisioningState/succeeded") -> dict[str, Any]:
    return {
        "extensions": [
            {
                "name": "VMAppExtension",
                "type": "Microsoft.CPlat.Core.VMApplicationManagerLinux",
                "statuses": [{"code": code, "message": message}],
            }
        ]
    }


DOC = (
    'Enable succeeded: {\n "CurrentState": [\n  {\n   "applicationName": "doNothingLinux",\n'
    '   "version": "1.0.0",\n   "result": "Install SUCCESS"\n  },\n  {\n'
    '   "applicationName": "badapplinux",\n   "version": "1.0.0",\n'
    '   "result": "Install FAILED Error executing command \'exit 1\': command terminated with '
    'exit status=1"\n  }\n ],\n "ActionsPerformed": []\n}'
)


def test_status_reads_the_documented_extension_message() -> None:
    view = extension_view(DOC)
    ok = status.read(view, "doNothingLinux", "1.0.0")
    assert ok.outcome is status.Outcome.SUCCEEDED and ok.message == "Install SUCCESS"
    bad = status.read(view, "badapplinux", "1.0.0")
    assert bad.outcome is status.Outcome.FAILED and "exit status=1" in bad.message
    assert status.read(view, "doNothingLinux", "2.0.0").outcome is status.Outcome.PENDING
    assert status.read(view, "other", None).outcome is status.Outcome.SUCCEEDED
    assert status.read(view, "doNothingLinux", None).outcome is status.Outcome.PENDING
    busy = extension_view("Enable in progress", "ProvisioningState/transitioning")
    assert status.read(busy, "doNothingLinux", "1.0.0").outcome is status.Outcome.PENDING
    assert status.read({}, "x", "1.0.0").outcome is status.Outcome.PENDING
    assert status.read({}, "x", None).outcome is status.Outcome.SUCCEEDED


def test_input_rules() -> None:
    assert parse_batch("20%").of(3, at_least=1) == 1
    assert parse_batch("20%").of(200, at_least=1) == 40
    assert parse_batch("5").of(3, at_least=1) == 5
    assert parse_failures("10%").of(25) == 2
    assert parse_failures("0").of(25) == 0
    assert str(Amount(20, True)) == "20%"
    for bad in ("0", "0%", "101%", "-1", "x"):
        with pytest.raises(ValueError):
            parse_batch(bad)
    assert parse_tag_filter(" role = web ") == ("role", "web")
    with pytest.raises(ValueError):
        parse_tag_filter("role")
    ids = ["/a/VM1", "/a/vm1", "/a/vm2/"]
    assert parse_targets(["/a/VM1, /a/vm1", "/a/vm2/"]) == ["/a/VM1", "/a/vm2"]
    assert parse_targets([json.dumps(ids)]) == ["/a/VM1", "/a/vm2"]
    with pytest.raises(TaskError):
        parse_targets(['["/a", 3]'])


def test_rollback_state_round_trips_and_rejects_other_json() -> None:
    state = RollbackState(f"{APPS}/web", "d1", {"/vm1": None, "/vm2": {"packageReferenceId": "x"}})
    again = RollbackState.parse(state.to_json())
    assert again == state
    for bad in ("[]", '{"formatVersion": 2}', '{"formatVersion": 1, "applicationId": "a"}', "no"):
        with pytest.raises(ValueError):
            RollbackState.parse(bad)


def test_batches_and_expected_versions() -> None:
    assert batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert batches([], 3) == []
    assert expected_version(None) is None
    assert expected_version({"packageReferenceId": ref("web", "latest")}) == "latest"


def test_an_exhausted_deadline_stops_the_rollout_with_what_it_waited_for() -> None:
    with pytest.raises(RolloutTimeout, match="waiting for the instances of web"):
        Deadline(0).check("the instances of web")
