"""PublishVmApp's replication wait: progress lines per change, failure details, the deadline."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

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


class FailingPoller:
    """azure-core's LROPoller after its thread saw the operation fail.

    `wait` re-raises the thread's exception (as LROPoller.wait does); `result` raises it too.
    `done_at_first` says whether the failure is first seen by `wait` or by `done`/`result`.
    """

    def __init__(self, done_at_first: bool) -> None:
        self._done = done_at_first
        self.error = HttpResponseError(message="ReplicationFailed: out of storage capacity")

    def done(self) -> bool:
        return self._done

    def wait(self, timeout: float | None = None) -> None:
        self._done = True
        raise self.error

    def result(self) -> None:
        raise self.error


REPLICATING = version("InProgress", [("North Europe", "Replicating", 30, "")], "Creating")
FAILED = version(
    "Failed", [("North Europe", "Failed", 30, "Ran out of storage capacity.")], "Failed"
)


@pytest.mark.parametrize("done_at_first", [False, True], ids=["seen-by-wait", "seen-by-result"])
def test_a_failed_operation_seen_by_the_poller_first_names_the_failed_regions(
    done_at_first: bool,
) -> None:
    # The first read still shows replication running; the poller then sees the failure first.
    states = iter([REPLICATING, FAILED])
    with pytest.raises(TaskError) as caught:
        replication.wait(
            FakeContext(),  # type: ignore[arg-type]
            lambda: next(states),
            FailingPoller(done_at_first),  # type: ignore[arg-type]
            replication.Deadline(5),
            "1.0.0",
        )
    message = str(caught.value)
    assert "Replication of version 1.0.0 failed in 1 region(s)" in message
    assert "North Europe: Ran out of storage capacity" in message
    assert "ifVersionExists: overwrite" in message


def test_a_failed_operation_without_failed_regions_says_the_create_failed() -> None:
    with pytest.raises(TaskError) as caught:
        replication.wait(
            FakeContext(),  # type: ignore[arg-type]
            lambda: REPLICATING,
            FailingPoller(done_at_first=False),  # type: ignore[arg-type]
            replication.Deadline(5),
            "1.0.0",
        )
    assert "Creating version 1.0.0 failed: ReplicationFailed: out of storage" in str(caught.value)
