"""Run control: limits, early stops, verdicts, dry run, and invariants under random runs."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytask.gate import (
    CheckResult,
    Classification,
    Explanation,
    NoDataPolicy,
    RunPolicy,
    RunStatus,
    Verdict,
    advance,
    conclude,
    is_finished,
    start,
)
from pytask.gate.runcontrol import RunState

P, F, INC, N = (
    Classification.PASS,
    Classification.FAIL,
    Classification.INCONCLUSIVE,
    Classification.NO_DATA,
)


def result(check: str, classification: Classification, **kwargs: object) -> CheckResult:
    return CheckResult(check, classification, Explanation("threshold", "test"), **kwargs)  # type: ignore[arg-type]


def run(
    policy: RunPolicy, intervals: list[list[CheckResult]], checks: tuple[str, ...] = ("a", "b")
) -> RunState:
    state = start(checks)
    for results in intervals:
        if is_finished(state, policy):
            break
        state = advance(state, policy, results)
    return state


def test_all_pass_over_the_soak_succeeds() -> None:
    policy = RunPolicy(intervals=3)
    state = run(policy, [[result("a", P), result("b", P)]] * 5)
    assert state.interval == 3
    verdict = conclude(state, policy)
    assert (verdict.verdict, verdict.status, verdict.outcome) == (
        Verdict.SUCCEEDED,
        RunStatus.SUCCEEDED,
        "Passed",
    )
    assert verdict.decided_at is None
    assert state.tallies["a"].timeline == (P, P, P)


def test_failure_limit_is_exceeded_not_reached() -> None:
    policy = RunPolicy(intervals=10, failure_limit=1)
    one = run(policy, [[result("a", F), result("b", P)]] + [[result("a", P), result("b", P)]] * 9)
    assert conclude(one, policy).verdict is Verdict.SUCCEEDED_WITH_ISSUES
    two = run(policy, [[result("a", F), result("b", P)]] * 10)
    verdict = conclude(two, policy)
    assert verdict.verdict is Verdict.FAILED
    assert (two.interval, verdict.decided_at, verdict.failed_checks) == (2, 2, ("a",))


def test_critical_failure_stops_at_once() -> None:
    policy = RunPolicy(intervals=10, failure_limit=5)
    state = run(policy, [[result("a", P), result("b", F, critical=True)]] * 10)
    verdict = conclude(state, policy)
    assert state.interval == 1
    assert verdict.verdict is Verdict.FAILED
    assert "critical check 'b'" in verdict.reason


def test_missing_heartbeat_on_critical_check_with_no_data_fail() -> None:
    policy = RunPolicy(intervals=10, failure_limit=5)
    missing = result("heartbeat", N, critical=True, no_data=NoDataPolicy.FAIL)
    state = run(policy, [[missing]], checks=("heartbeat",))
    assert conclude(state, policy).verdict is Verdict.FAILED
    assert state.tallies["heartbeat"].timeline == (N,)


def test_consecutive_successes_pass_early() -> None:
    policy = RunPolicy(intervals=20, consecutive_successes_to_pass=3, inconclusive_limit=5)
    pattern = [[result("a", INC), result("b", P)]] + [[result("a", P), result("b", P)]] * 19
    state = run(policy, pattern)
    verdict = conclude(state, policy)
    assert state.interval == 4
    assert verdict.status is RunStatus.SUCCEEDED
    assert verdict.verdict is Verdict.SUCCEEDED_WITH_ISSUES  # one tolerated inconclusive


def test_inconclusive_limit_and_configurable_result() -> None:
    intervals = [[result("a", N), result("b", P)]] * 5
    for configured in Verdict:
        policy = RunPolicy(intervals=5, inconclusive_limit=1, inconclusive_result=configured)
        state = run(policy, intervals)
        verdict = conclude(state, policy)
        assert state.interval == 2
        assert verdict.status is RunStatus.INCONCLUSIVE
        assert verdict.outcome == "Inconclusive"
        assert verdict.verdict is configured


def test_no_data_then_data_after_ingestion_delay() -> None:
    policy = RunPolicy(intervals=6, inconclusive_limit=2)
    early = [[result("a", N), result("b", N)]] * 2
    later = [[result("a", P), result("b", P)]] * 4
    verdict = conclude(run(policy, early + later), policy)
    assert verdict.status is RunStatus.SUCCEEDED
    assert verdict.verdict is Verdict.SUCCEEDED_WITH_ISSUES
    assert verdict.inconclusive_checks == ("a", "b")


def test_ending_inconclusive_is_not_a_clean_pass() -> None:
    policy = RunPolicy(intervals=2, inconclusive_limit=5)
    state = run(policy, [[result("a", P), result("b", P)], [result("a", P), result("b", INC)]])
    verdict = conclude(state, policy)
    assert verdict.status is RunStatus.INCONCLUSIVE
    assert "b ended inconclusive" in verdict.reason


def test_dry_run_never_fails_and_reports_what_would_have_happened() -> None:
    policy = RunPolicy(intervals=4, dry_run=True)
    state = run(policy, [[result("a", F, critical=True), result("b", P)]] * 4)
    verdict = conclude(state, policy)
    assert state.interval == 4  # keeps evaluating the whole soak
    assert verdict.verdict is Verdict.SUCCEEDED_WITH_ISSUES
    assert verdict.would_be is Verdict.FAILED
    assert verdict.decided_at == 1
    assert verdict.to_dict()["wouldBe"] == "Failed"


def test_incomplete_data_is_reported() -> None:
    policy = RunPolicy(intervals=1)
    state = run(policy, [[result("a", P, data_incomplete=True), result("b", P)]])
    verdict = conclude(state, policy)
    assert verdict.data_incomplete
    assert "incomplete" in verdict.reason


def test_misuse_is_rejected() -> None:
    policy = RunPolicy(intervals=1)
    state = advance(start(["a"]), policy, [result("a", P)])
    with pytest.raises(ValueError):
        advance(state, policy, [result("a", P)])
    with pytest.raises(ValueError):
        advance(start(["a"]), RunPolicy(intervals=2), [result("a", P), result("a", F)])
    with pytest.raises(ValueError):
        RunPolicy(intervals=0)


classifications = st.sampled_from([P, F, INC, N])
interval_results = st.tuples(classifications, classifications, st.booleans())
policies = st.builds(
    RunPolicy,
    intervals=st.integers(1, 12),
    failure_limit=st.integers(0, 3),
    inconclusive_limit=st.integers(0, 3),
    consecutive_successes_to_pass=st.integers(0, 4),
    inconclusive_result=st.sampled_from(list(Verdict)),
    dry_run=st.booleans(),
)


@given(policies, st.lists(interval_results, min_size=12, max_size=12))
@settings(max_examples=300, deadline=None)
def test_invariants(
    policy: RunPolicy, steps: list[tuple[Classification, Classification, bool]]
) -> None:
    intervals = [
        [result("a", a), result("b", b, critical=critical, no_data=NoDataPolicy.FAIL)]
        for a, b, critical in steps
    ]
    state = run(policy, intervals)
    verdict = conclude(state, policy)
    assert 1 <= state.interval <= policy.intervals
    assert all(len(t.timeline) == state.interval for t in state.tallies.values())
    if policy.dry_run:
        assert state.interval == policy.intervals
        assert verdict.verdict is not Verdict.FAILED
        enforce = replace(policy, dry_run=False)
        enforced_run = conclude(run(enforce, intervals), enforce)
        assert verdict.would_be is enforced_run.verdict
        assert verdict.decided_at == enforced_run.decided_at
        assert verdict.status is enforced_run.status
    else:
        assert state.interval == policy.intervals or state.decision is not None
    # What enforce mode would have seen: the intervals up to the deciding one.
    horizon = verdict.decided_at or state.interval
    enforced = verdict.would_be or verdict.verdict
    seen = {name: t.results[:horizon] for name, t in state.tallies.items()}
    failures = {name: sum(r.counts_as is F for r in rs) for name, rs in seen.items()}
    inconclusive = {name: sum(r.counts_as is INC for r in rs) for name, rs in seen.items()}
    if any(count > policy.failure_limit for count in failures.values()):
        assert enforced is Verdict.FAILED
    if enforced is Verdict.SUCCEEDED and policy.inconclusive_result is not Verdict.SUCCEEDED:
        assert not any(failures.values()) and not any(inconclusive.values())
    critical_failures = [r for r in seen["b"] if r.critical and r.counts_as is F]
    if critical_failures:
        assert enforced is Verdict.FAILED


def test_policy_for_soak() -> None:
    assert RunPolicy.for_soak(10, 60).intervals == 10
    assert RunPolicy.for_soak(10, 90, failure_limit=2) == RunPolicy(intervals=6, failure_limit=2)
    assert RunPolicy.for_soak(0, 60).intervals == 1
    with pytest.raises(ValueError):
        RunPolicy.for_soak(10, 0)
