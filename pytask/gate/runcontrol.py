"""Run control for a gate, after Argo Rollouts' analysis runs, as a pure state machine.

Every interval the task feeds the results of all checks to `advance`; the state counts
failures and inconclusive results per check against `failure_limit` / `inconclusive_limit`
(exceeding a limit decides the run, as in Argo), stops at once when a critical check fails,
and passes early after `consecutive_successes_to_pass` all-pass intervals. `conclude` turns
the state into the final verdict. In a dry run nothing stops early and nothing fails: the
run goes the full soak and the verdict reports what would have happened, and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from types import MappingProxyType
from typing import Any

from .model import CheckResult, Classification


class RunStatus(str, Enum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"


class Verdict(str, Enum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUCCEEDED_WITH_ISSUES = "SucceededWithIssues"


@dataclass(frozen=True)
class RunPolicy:
    intervals: int  # evaluations in the soak: durationMinutes / intervalSeconds, at least 1
    failure_limit: int = 0  # failures a check may have; one more fails the run
    inconclusive_limit: int = 0  # inconclusive results a check may have
    consecutive_successes_to_pass: int = 0  # 0 disables the early pass
    inconclusive_result: Verdict = Verdict.SUCCEEDED_WITH_ISSUES  # task input inconclusiveResult
    dry_run: bool = False

    @classmethod
    def for_soak(
        cls, duration_minutes: float, interval_seconds: float, **options: Any
    ) -> RunPolicy:
        """The number of evaluations that fit in the soak, at least one."""
        if interval_seconds <= 0 or duration_minutes < 0:
            raise ValueError("intervalSeconds must be positive and durationMinutes not negative")
        return cls(intervals=max(1, int(duration_minutes * 60 // interval_seconds)), **options)

    def __post_init__(self) -> None:
        if self.intervals < 1:
            raise ValueError("a run needs at least one interval")
        if min(self.failure_limit, self.inconclusive_limit) < 0:
            raise ValueError("limits must not be negative")
        if self.consecutive_successes_to_pass < 0:
            raise ValueError("consecutiveSuccessesToPass must not be negative")


@dataclass(frozen=True)
class CheckTally:
    """One check's history: raw classifications and what run control counted."""

    results: tuple[CheckResult, ...] = ()  # one per evaluated interval, oldest first
    failures: int = 0  # counted as Fail (NoData under noData: fail included)
    inconclusive: int = 0  # counted as Inconclusive
    critical: bool = False

    @property
    def timeline(self) -> tuple[Classification, ...]:
        return tuple(r.classification for r in self.results)

    def add(self, result: CheckResult) -> CheckTally:
        counted = result.counts_as
        return CheckTally(
            results=(*self.results, result),
            failures=self.failures + (counted is Classification.FAIL),
            inconclusive=self.inconclusive + (counted is Classification.INCONCLUSIVE),
            critical=self.critical or result.critical,
        )


@dataclass(frozen=True)
class Decision:
    status: RunStatus
    reason: str
    interval: int  # 1-based interval that decided the run


@dataclass(frozen=True)
class RunState:
    interval: int = 0
    tallies: Mapping[str, CheckTally] = field(default_factory=lambda: MappingProxyType({}))
    latest: tuple[CheckResult, ...] = ()
    streak: int = 0  # consecutive intervals in which every check counted as Pass
    decision: Decision | None = None  # in a dry run: the first thing that would have decided
    data_incomplete: bool = False


def start(checks: Iterable[str] = ()) -> RunState:
    return RunState(tallies=MappingProxyType({name: CheckTally() for name in checks}))


def is_finished(state: RunState, policy: RunPolicy) -> bool:
    if state.interval >= policy.intervals:
        return True
    return state.decision is not None and not policy.dry_run


def _decide(state: RunState, policy: RunPolicy, results: Sequence[CheckResult]) -> Decision | None:
    for result in results:
        if result.critical and result.counts_as is Classification.FAIL:
            return Decision(
                RunStatus.FAILED, f"critical check '{result.check}' failed", state.interval
            )
    for name, tally in state.tallies.items():
        if tally.failures > policy.failure_limit:
            reason = (
                f"check '{name}' failed {tally.failures} time(s); "
                f"the failure limit is {policy.failure_limit}"
            )
            return Decision(RunStatus.FAILED, reason, state.interval)
    for name, tally in state.tallies.items():
        if tally.inconclusive > policy.inconclusive_limit:
            reason = (
                f"check '{name}' was inconclusive {tally.inconclusive} time(s); "
                f"the inconclusive limit is {policy.inconclusive_limit}"
            )
            return Decision(RunStatus.INCONCLUSIVE, reason, state.interval)
    wanted = policy.consecutive_successes_to_pass
    if wanted and state.streak >= wanted:
        reason = f"{state.streak} consecutive intervals passed"
        return Decision(RunStatus.SUCCEEDED, reason, state.interval)
    return None


def advance(state: RunState, policy: RunPolicy, results: Sequence[CheckResult]) -> RunState:
    """Feed one interval's results (one per check) and return the next state."""
    if is_finished(state, policy):
        raise ValueError("the run is already finished")
    names = [r.check for r in results]
    if len(set(names)) != len(names):
        raise ValueError(f"one result per check and interval, got {names}")
    tallies = dict(state.tallies)
    for result in results:
        tallies[result.check] = tallies.get(result.check, CheckTally()).add(result)
    all_pass = bool(results) and all(r.counts_as is Classification.PASS for r in results)
    nxt = replace(
        state,
        interval=state.interval + 1,
        tallies=MappingProxyType(tallies),
        latest=tuple(results),
        streak=state.streak + 1 if all_pass else 0,
        data_incomplete=state.data_incomplete or any(r.data_incomplete for r in results),
    )
    if state.decision is None:
        nxt = replace(nxt, decision=_decide(nxt, policy, results))
    return nxt


@dataclass(frozen=True)
class RunVerdict:
    verdict: Verdict
    would_be: Verdict | None  # dry run only: the verdict enforce mode would have given
    status: RunStatus
    reason: str
    decided_at: int | None  # interval that decided (early stop), None when the soak ran out
    intervals: int  # intervals evaluated
    failed_checks: tuple[str, ...]  # checks with at least one counted failure
    inconclusive_checks: tuple[str, ...]
    data_incomplete: bool
    dry_run: bool

    @property
    def outcome(self) -> str:
        """The gate's answer in the words of the task's `verdict` output."""
        return {
            RunStatus.SUCCEEDED: "Passed",
            RunStatus.FAILED: "Failed",
            RunStatus.INCONCLUSIVE: "Inconclusive",
            RunStatus.RUNNING: "Inconclusive",
        }[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "wouldBe": self.would_be.value if self.would_be else None,
            "status": self.status.value,
            "outcome": self.outcome,
            "reason": self.reason,
            "decidedAt": self.decided_at,
            "intervals": self.intervals,
            "failedChecks": list(self.failed_checks),
            "inconclusiveChecks": list(self.inconclusive_checks),
            "dataIncomplete": self.data_incomplete,
            "dryRun": self.dry_run,
        }


def _end_of_soak(state: RunState) -> Decision:
    for name, tally in state.tallies.items():
        if not tally.timeline:
            return Decision(RunStatus.INCONCLUSIVE, f"check '{name}' was never evaluated", 0)
    ended_inconclusive = [
        r.check for r in state.latest if r.counts_as is Classification.INCONCLUSIVE
    ]
    if ended_inconclusive:
        reason = f"check(s) {', '.join(ended_inconclusive)} ended inconclusive"
        return Decision(RunStatus.INCONCLUSIVE, reason, state.interval)
    return Decision(RunStatus.SUCCEEDED, f"all checks passed over {state.interval} interval(s)", 0)


def conclude(state: RunState, policy: RunPolicy) -> RunVerdict:
    """The final verdict: call when `is_finished` (or when the run is cut short)."""
    decision = state.decision or _end_of_soak(state)
    failed = tuple(name for name, t in state.tallies.items() if t.failures)
    inconclusive = tuple(name for name, t in state.tallies.items() if t.inconclusive)
    # A dry run goes on after the decision; the enforced verdict only sees what came before.
    horizon = state.decision.interval if state.decision else state.interval
    tolerated = any(
        r.counts_as is not Classification.PASS
        for tally in state.tallies.values()
        for r in tally.results[:horizon]
    )
    if decision.status is RunStatus.FAILED:
        enforced = Verdict.FAILED
    elif decision.status is RunStatus.INCONCLUSIVE:
        enforced = policy.inconclusive_result
    elif tolerated:
        enforced = Verdict.SUCCEEDED_WITH_ISSUES  # passed, but within tolerated limits
    else:
        enforced = Verdict.SUCCEEDED
    verdict, would_be = enforced, None
    if policy.dry_run:
        would_be = enforced
        verdict = (
            Verdict.SUCCEEDED if enforced is Verdict.SUCCEEDED else (Verdict.SUCCEEDED_WITH_ISSUES)
        )
    reason = decision.reason
    if state.data_incomplete:
        reason += "; some query results were incomplete"
    return RunVerdict(
        verdict=verdict,
        would_be=would_be,
        status=decision.status,
        reason=reason,
        decided_at=state.decision.interval if state.decision else None,
        intervals=state.interval,
        failed_checks=failed,
        inconclusive_checks=inconclusive,
        data_incomplete=state.data_incomplete,
        dry_run=policy.dry_run,
    )
