"""Sparklines, the markdown summary and the JSON report model."""

import json
import math

from pytask.gate import (
    BaselineRule,
    CheckResult,
    Classification,
    Counts,
    RunPolicy,
    RunState,
    RunVerdict,
    advance,
    conclude,
    start,
)
from pytask.gate.render import log_line, markdown_summary, report_model, sparkline, timeline_text


def test_sparkline() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.0, None, 10.0, math.nan]) == "▁ █ "
    assert sparkline([5, 5, 5]) == "▅▅▅"
    assert sparkline([]) == ""
    assert sparkline([None, None]) == "  "
    long = sparkline(list(range(1000)), width=20)
    assert len(long) == 20 and long[0] == "▁" and long[-1] == "█"


def test_timeline_text() -> None:
    timeline = [
        Classification.NO_DATA,
        Classification.PASS,
        Classification.INCONCLUSIVE,
        Classification.FAIL,
    ]
    assert timeline_text(timeline) == "·✓?✗"


def _run() -> tuple[RunState, RunPolicy, RunVerdict]:
    rule = BaselineRule("rate", min_effect=0.001)
    policy = RunPolicy(intervals=3, inconclusive_limit=1)
    state = start(["errorRate"])
    for events in (None, 10, 90):
        if events is None:
            outcome = rule.evaluate_rate(Counts(10, 5000), None)
        else:
            outcome = rule.evaluate_rate(Counts(10, 5000), Counts(events, 5000))
        result = CheckResult("errorRate", outcome.classification, outcome.explanation)
        state = advance(state, policy, [result])
    return state, policy, conclude(state, policy)


def test_markdown_summary_has_a_table_per_check() -> None:
    state, _, verdict = _run()
    text = markdown_summary(state, verdict, {"errorRate": [0.002, 0.002, 0.018]})
    assert text.startswith("### Health gate: Failed")
    assert "| errorRate | `·✓✗` | ▁▁█ |" in text
    assert "#### errorRate" in text
    rows = [line for line in text.splitlines() if line.startswith("| 3 | Fail |")]
    assert len(rows) == 1 and "0.018" in rows[0] and "5000 / 5000" in rows[0]


def test_report_is_strict_json() -> None:
    state, policy, verdict = _run()
    report = report_model(state, policy, verdict, {"errorRate": [None, 0.002, math.inf]})
    text = json.dumps(report, allow_nan=False)
    parsed = json.loads(text)
    assert parsed["verdict"]["verdict"] == "Failed"
    assert parsed["verdict"]["failedChecks"] == ["errorRate"]
    check = parsed["checks"][0]
    assert check["timeline"] == ["NoData", "Pass", "Fail"]
    assert check["series"] == [None, 0.002, None]
    last = check["results"][-1]["explanation"]
    assert last["baselineSamples"] == 5000 and last["pValue"] < 0.001
    assert last["extra"]["relativeRisk"] == 9.0


def test_log_line() -> None:
    state, _, _ = _run()
    line = log_line(state.latest[0], [0.002, 0.018])
    assert line.startswith("errorRate: Fail ▁█ rate 1.8000% vs baseline 0.2000%")


def test_summary_leads_with_what_counted_against_the_gate_and_the_rules() -> None:
    state, policy, verdict = _run()
    text = markdown_summary(state, verdict, {}, policy)
    head = text.split("| Check | Timeline |")[0]
    assert "Decided at evaluation 3 of 3 planned." in head
    assert "fails when a check fails more than 0 time(s)" in head
    assert "inconclusive more than 1 time(s)" in head
    rows = [line for line in head.splitlines() if line.startswith("| **errorRate**")]
    assert len(rows) == 1
    assert "| Fail: 1 of 3 evaluations | 3 | 0.018 | 0.002 |" in rows[0]
    assert "p=4.48e-16" in rows[0] and "significant regression" in rows[0]


def test_a_clean_pass_has_nothing_counted_against_it() -> None:
    policy = RunPolicy(intervals=5, consecutive_successes_to_pass=2)
    rule = BaselineRule("rate", min_effect=0.001)
    state = start(["errorRate"])
    for _ in range(2):
        outcome = rule.evaluate_rate(Counts(10, 5000), Counts(10, 5000))
        result = CheckResult("errorRate", outcome.classification, outcome.explanation)
        state = advance(state, policy, [result])
    verdict = conclude(state, policy)
    text = markdown_summary(state, verdict, {}, policy)
    assert text.startswith("### Health gate: Passed")
    assert "Counted against the gate" not in text
    assert "2 passing evaluations in a row pass it early" in text


def test_a_dry_run_says_where_enforce_mode_would_have_stopped() -> None:
    rule = BaselineRule("rate", min_effect=0.001)
    policy = RunPolicy(intervals=3, dry_run=True)
    state = start(["errorRate"])
    for _ in range(3):
        outcome = rule.evaluate_rate(Counts(10, 5000), Counts(90, 5000))
        result = CheckResult("errorRate", outcome.classification, outcome.explanation)
        state = advance(state, policy, [result])
    text = markdown_summary(state, conclude(state, policy), {}, policy)
    assert "Enforce mode would have decided at evaluation 1 of 3 planned" in text
    assert "the dry run evaluated 3." in text
