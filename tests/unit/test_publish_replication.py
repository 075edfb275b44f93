"""PublishVmApp's replication wait: progress lines per change, failure details, the deadline."""

from __future__ import annotations

from typing import Any

import pytest

from pytask.agent import TaskError
from pytask.tasks.publish import replication


class FakeContext:
    """The two things the wait uses from TaskContext: log lines and progress."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.progress_values: list[int] = []

    def log(self, text: str = "") -> None:
        self.lines.append(text)

    def progress(self, percent: int, text: str = "") -> None:
        self.progress_values.append(percent)


def version(
    state: str, regions: list[tuple[str, str, int, str]], provisioning: str
) -> dict[str, Any]:
    return {
        "properties": {
            "provisioningState": provisioning,
            "replicationStatus": {
                "aggregatedState": state,
                "summary": [
                    {"region": r, "state": s, "progress": p, "details": d} for r, s, p, d in regions
                ],
            },
        }
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replication.time, "sleep", lambda seconds: None)


def test_reports_each_change_once_and_returns_when_complete() -> None:
    states = iter(
        [
            version("InProgress", [("West Europe", "Replicating", 10, "")], "Creating"),
            version("InProgress", [("West Europe", "Replicating", 10, "")], "Creating"),
            version("InProgress", [("West Europe", "Replicating", 60, "")], "Creating"),
            version("Completed", [("West Europe", "Completed", 100, "")], "Succeeded"),
        ]
    )
    ctx = FakeContext()
    result = replication.wait(ctx, lambda: next(states), None, replication.Deadline(5), "1.0.0")  # type: ignore[arg-type]
    assert result.output_state == "Completed"
    assert ctx.lines == [
        "  West Europe: Replicating 10%",
        "  West Europe: Replicating 60%",
        "  West Europe: Completed 100%",
    ]
    assert ctx.progress_values == [10, 60, 100]


def test_a_failed_region_fails_with_its_details() -> None:
    failed = version(
        "Failed",
        [("West Europe", "Completed", 100, ""), ("East US", "Failed", 40, "Quota exceeded.")],
        "Failed",
    )
    with pytest.raises(TaskError) as caught:
        replication.wait(FakeContext(), lambda: failed, None, replication.Deadline(5), "2.0.0")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "failed in 1 region(s): East US: Quota exceeded" in message
    assert "West Europe" not in message


def test_deadline_names_what_is_still_pending() -> None:
    clock = Clock()
    deadline = replication.Deadline(1, clock)
    pending = version(
        "InProgress",
        [("West Europe", "Completed", 100, ""), ("East US", "Replicating", 5, "")],
        "Creating",
    )

    def read() -> dict[str, Any]:
        clock.now += 25.0  # each look costs time
        return pending

    with pytest.raises(TaskError) as caught:
        replication.wait(FakeContext(), read, None, deadline, "3.0.0")  # type: ignore[arg-type]
    assert "timeoutMinutes" in str(caught.value) and "East US" in str(caught.value)
    assert clock.now >= 60.0
