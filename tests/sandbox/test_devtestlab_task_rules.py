"""DevTestLabEnv's pure parts: template parameters (typed, checked, serialized for DevTest
Labs), input parsers, tags and the sweep's due rule, nested error rendering."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytask.agent import TaskError
from pytask.tasks.devtestlab import parameters as params
from pytask.tasks.devtestlab import spec, sweep, tagging, waiting
from pytask.tasks.devtestlab.environment import nested_errors

DEFINITIONS = {
    "Admin Login": {"type": "string"},
    "password": {"type": "securestring"},
    "count": {"type": "int", "defaultValue": 1, "minValue": 1, "maxValue": 5},
    "size": {"type": "string", "defaultValue": "S", "allowedValues": ["S", "M"]},
    "on": {"type": "bool", "defaultValue": False},
    "settings": {"type": "object", "defaultValue": {}},
    "ports": {"type": "array", "defaultValue": []},
    "name": {"type": "string", "defaultValue": "x", "maxLength": 4},
}


def test_values_keep_their_types_and_become_single_strings() -> None:
    given = {
        "admin login": 'a "quoted" -x = y  z',
        "password": "p w=-",
        "count": 3,
        "on": True,
        "settings": {"k": [1, "two"]},
        "ports": [22, 443],
    }
    bound = params.bind(DEFINITIONS, given)
    assert set(bound.values) == {"Admin Login", "password", "count", "on", "settings", "ports"}
    as_strings = {p["name"]: p["value"] for p in bound.as_strings()}
    assert as_strings == {
        "Admin Login": 'a "quoted" -x = y  z',
        "password": "p w=-",
        "count": "3",
        "on": "true",
        "settings": '{"k":[1,"two"]}',
        "ports": "[22,443]",
    }
    assert bound.secret_texts() == ["p w=-"]
    assert bound.display("password") == "***"


def test_every_problem_is_listed() -> None:
    given = {"countt": 1, "count": "3", "size": "XL", "on": "yes", "name": "toolong", "ports": 1}
    with pytest.raises(params.ParameterProblems) as raised:
        params.bind(DEFINITIONS, given)
    text = "\n".join(raised.value.problems)
    assert "'countt' is not a parameter" in text and "'count' must be a whole number" in text
    assert "'size' must be one of" in text and "'on' must be true or false" in text
    assert "at most 4" in text and "'ports' must be an array" in text
    assert "'Admin Login' is required" in text and "'password' is required" in text
    assert len(raised.value.problems) == 8


def test_a_secret_of_the_wrong_type_is_not_echoed() -> None:
    with pytest.raises(params.ParameterProblems) as raised:
        params.bind(DEFINITIONS, {"Admin Login": "a", "password": 12345678})
    assert "12345678" not in str(raised.value)


@pytest.mark.parametrize(
    "content",
    [
        {
            "$schema": "https://schema.management.azure.com/...",
            "parameters": {"count": {"value": 2}},
        },
        {"parameters": {"count": {"value": 2}}},
        {"count": 2},
    ],
)
def test_parameter_files(tmp_path: Path, content: dict[str, Any]) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(content))
    assert params.read_file(path) == {"count": 2}


def test_key_vault_references_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"$schema": "x", "parameters": {"pw": {"reference": {}}}}))
    with pytest.raises(params.ParameterProblems, match="Key Vault"):
        params.read_file(path)


# --- input parsers -----------------------------------------------------------------------
def test_parsers() -> None:
    assert spec.yaml_object("a: 1\nb: [x]") == {"a": 1, "b": ["x"]}
    assert spec.tag_object("{team: qa, on: true}") == {"team": "qa", "on": "true"}
    image = spec.image_reference("MicrosoftWindowsServer:WindowsServer:2022-datacenter")
    assert image.version == "latest" and image.os_type == "Windows"
    artifacts = spec.artifact_list("- git\n- artifact: apt\n  parameters: {packages: a b, n: 1}")
    assert [a.artifact for a in artifacts] == ["git", "apt"]
    assert artifacts[1].parameters == {"packages": "a b", "n": "1"}
    assert spec.vm_names("web", 1) == ["web"] and spec.vm_names("web", 2) == ["web-1", "web-2"]


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (spec.yaml_object, "[1]"),
        (spec.yaml_object, "a: [unclosed"),
        (spec.tag_object, "a/b: c"),
        (spec.tag_object, "a: {nested: 1}"),
        (spec.image_reference, "publisher:offer"),
        (spec.artifact_list, "artifact: x"),
        (spec.artifact_list, "- {artifact: x, extra: 1}"),
        (spec.lab_reference, "/subscriptions/x/resourceGroups/y"),
    ],
)
def test_parsers_reject(parse: Any, text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


# --- tags and sweep ----------------------------------------------------------------------
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
ORIGIN = tagging.Origin("coll/proj/7", "release", "88", "test")


def test_tags_carry_the_run_and_expiry_and_win_over_the_users() -> None:
    tags = tagging.tags_for(ORIGIN, {"team": "qa", tagging.PIPELINE: "spoofed"}, NOW, 6)
    assert tags["team"] == "qa" and tags[tagging.PIPELINE] == "coll/proj/7"
    assert tags[tagging.EXPIRES] == "2026-01-10T18:00:00Z"
    assert tags[tagging.RUN] == "88" and tags[tagging.STAGE] == "test"
    assert ORIGIN.owns(tags) and not ORIGIN.owns({tagging.PIPELINE: "coll/proj/8"})
    assert not ORIGIN.owns(None)


def test_due() -> None:
    fresh = tagging.tags_for(ORIGIN, {}, NOW, 6)
    assert sweep.due(fresh, None, NOW, None) is None
    assert sweep.due(fresh, None, NOW + timedelta(hours=7), None) is not None
    assert sweep.due(fresh, None, NOW + timedelta(hours=2), timedelta(hours=1)) is not None
    assert sweep.due(fresh, None, NOW + timedelta(minutes=30), timedelta(hours=1)) is None
    # A lab VM's own expirationDate counts when the tag is missing.
    assert sweep.due({}, NOW - timedelta(minutes=1), NOW, None) == "expired 2026-01-10T11:59:00Z"


def test_nested_errors_render_every_level() -> None:
    error = {
        "code": "DeploymentFailed",
        "message": "At least one resource deployment operation failed.",
        "details": [{"code": "Conflict", "message": "busy", "target": "/x",
                     "details": [{"code": "Inner", "message": "deeper"}]}],
    }  # fmt: skip
    assert nested_errors(error) == [
        "DeploymentFailed: At least one resource deployment operation failed.",
        "  Conflict: busy (target /x)",
        "    Inner: deeper",
    ]


def test_yaml_booleans_are_only_true_and_false() -> None:
    assert spec.tag_object("on: yes\nno: off") == {"on": "yes", "no": "off"}
    assert spec.yaml_object("flag: true\ncountry: no") == {"flag": True, "country": "no"}


# --- waiting ---------------------------------------------------------------------------------
class FakePoller:
    """Done after `polls` checks; fails with `error` if given."""

    def __init__(self, polls: int, error: Exception | None = None) -> None:
        self.polls, self.error = polls, error

    def done(self) -> bool:
        self.polls -= 1
        return self.polls < 0

    def result(self, timeout: float | None = None) -> None:
        if self.error is not None:
            raise self.error


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_wait_all_collects_outcomes_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(time, "sleep", lambda s: setattr(clock, "now", clock.now + s))
    deadline = waiting.Deadline(1, clock)
    boom = RuntimeError("DeploymentFailed")
    pollers: dict[str, Any] = {"a": FakePoller(2), "b": FakePoller(4, boom)}
    ticks: list[float] = []
    results = waiting.wait_all(pollers, deadline, "things", lambda: ticks.append(clock.now))
    assert results == {"a": None, "b": boom}
    assert ticks and clock.now < 1060


def test_wait_all_ends_when_the_resource_shows_its_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(time, "sleep", lambda s: setattr(clock, "now", clock.now + s))
    pollers: dict[str, Any] = {"env": FakePoller(10_000)}
    results = waiting.wait_all(pollers, waiting.Deadline(1, clock), "x", settled=lambda k: True)
    assert results == {"env": None}


def test_the_deadline_is_monotonic_and_names_what_it_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(time, "sleep", lambda s: setattr(clock, "now", clock.now + s))
    deadline = waiting.Deadline(2, clock)
    with pytest.raises(TaskError) as late:
        waiting.wait_all({"vm-1": FakePoller(10**9)}, deadline, "lab VMs")  # type: ignore[dict-item]
    assert "2 minute(s) waiting for lab VMs (vm-1)" in str(late.value)
    assert clock.now == pytest.approx(1120.0)
