"""`pytask demo`: the whole release on the sandbox through the packaged launchers (slow: about
a minute), and the demo's own parts: how it reads a step's logging commands, how it judges
the outcome, and what its report shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytask.demo import charts, markdown
from pytask.demo.agent import StepRun, absorb
from pytask.demo.console import Console
from pytask.demo.expect import _bad_release, _good_release
from pytask.demo.model import ReleaseRun, StageRun
from pytask.demo.report import write_report

REPO = Path(__file__).resolve().parents[2]


def _step(name: str, result: str = "Succeeded", **outputs: str) -> StepRun:
    return StepRun(task="X", name=name, result=result, outputs=dict(outputs))


def _run(version: str, statuses: dict[str, str], verdicts: dict[str, str]) -> ReleaseRun:
    run = ReleaseRun(version, 1)
    for name, status in statuses.items():
        stage = StageRun(name, status)
        if name in verdicts:
            stage.steps.append(_step("healthGate", verdict=verdicts[name]))
        run.stages.append(stage)
    return run


def test_logging_commands_are_read_as_the_agent_reads_them() -> None:
    step = StepRun(task="DeployVmApp", name="deployApp")
    assert absorb(step, "plain line") == "plain line"
    assert (
        absorb(step, "##vso[task.setvariable variable=rollbackState;isOutput=true]{%22a%3B%5D}")
        is None
    )
    assert absorb(step, "##vso[task.setvariable variable=pw;isOutput=true;issecret=true]x") is None
    assert absorb(step, "##vso[task.logissue type=error]bad%0Anews") == "error: bad\nnews"
    assert absorb(step, "##vso[task.complete result=Failed;]done") is None
    assert step.outputs == {"rollbackState": "{%22a;]}", "pw": "x"}
    assert step.secrets == {"pw"} and step.errors == ["bad\nnews"] and step.result == "Failed"


def test_outcome_checks_accept_the_story_and_nothing_else() -> None:
    good = _run(
        "1.0.0",
        {"Publish": "succeeded", "dev": "succeeded", "test": "succeeded", "prod": "succeeded"},
        {"test": "Passed", "prod": "Passed"},
    )
    assert _good_release(good) == []
    bad = _run(
        "1.1.0",
        {"Publish": "succeeded", "dev": "succeeded", "test": "failed", "prod": "skipped"},
        {"test": "Failed"},
    )
    bad.stage("test").steps.append(_step("rollback"))
    assert _bad_release(bad) == []

    reached_prod = _run(
        "1.1.0",
        {"Publish": "succeeded", "dev": "succeeded", "test": "succeeded", "prod": "succeeded"},
        {"test": "Passed", "prod": "Passed"},
    )
    reached_prod.stage("prod").steps.append(_step("deployApp"))
    problems = _bad_release(reached_prod)
    assert any("stage test succeeded, expected failed" in p for p in problems)
    assert any("the test gate said Passed, expected Failed" in p for p in problems)
    assert any("not rolled back" in p for p in problems)
    assert any("something ran in prod" in p for p in problems)

    stopped_early = _run("1.0.0", {"Publish": "succeeded", "dev": "failed"}, {})
    assert any("stage dev failed" in p for p in _good_release(stopped_early))


def test_report_has_gate_charts_summaries_and_timings(tmp_path: Path) -> None:
    gate_report = {
        "verdict": {"verdict": "Failed", "reason": "check 'latencyP95' failed"},
        "checks": [
            {
                "name": "latencyP95",
                "timeline": ["Pass", "Fail"],
                "series": [180.0, 685.4],
                "results": [{"explanation": {"limit": "< 300"}}],
            }
        ],
    }
    report_file = tmp_path / "gate.json"
    report_file.write_text(json.dumps(gate_report))
    summary = tmp_path / "summary.md"
    summary.write_text("### Health gate: Failed\n\n| a | b |\n| --- | --- |\n| <x> | **y** |\n")
    step = _step("healthGate", "Failed", verdict="Failed", report=str(report_file))
    step.task, step.summaries, step.seconds = "HealthGate", [summary], 3.2
    run = ReleaseRun("1.1.0", 102, [StageRun("test", "failed", [step], 9.5)])
    html = write_report(tmp_path / "r.html", [run], ["1.1.0 reached prod"], 60).read_text()
    assert html.count("<svg") == 2  # the check's chart and the timings
    assert "<circle" in html and 'stroke-dasharray="4 3"' in html  # points and the limit
    assert "&lt;x&gt;" in html and "<strong>y</strong>" in html  # escaped, then rendered
    assert "Not as described" in html and "1.1.0 reached prod" in html


def test_chart_scales_to_the_limit_and_marks_failures() -> None:
    svg = charts.check_chart(
        charts.CheckSeries("cpu", [10.0, None, 95.0], ["Pass", "", "Fail"], "< 90")
    )
    assert svg.count("<circle") == 2 and charts.COLOURS["Fail"] in svg
    assert charts.CheckSeries("x", [], [], "baseline").limit_value() is None
    assert markdown.to_html("plain `code`") == "<p>plain <code>code</code></p>"
    link = markdown.to_html("[Open](https://x.test/a?b=1&c=2) [bad](javascript:alert(1))")
    assert link == (
        '<p><a href="https://x.test/a?b=1&amp;c=2">Open</a> [bad](javascript:alert(1))</p>'
    )


def test_report_leads_with_both_releases_at_a_glance(tmp_path: Path) -> None:
    gate_report = {
        "verdict": {"verdict": "Failed", "outcome": "Failed", "reason": "check 'cpu' failed"},
        "checks": [{"name": "cpu", "timeline": ["Fail"], "series": [95.0], "results": []}],
    }
    report_file = tmp_path / "gate.json"
    report_file.write_text(json.dumps(gate_report))
    summary = tmp_path / "summary.md"
    summary.write_text("### Health gate: Failed\n")
    gate = _step("healthGate", "Failed", verdict="Failed", report=str(report_file))
    gate.task, gate.summaries = "HealthGate", [summary]
    good = _run("1.0.0", {"test": "succeeded", "prod": "succeeded"}, {"test": "Passed"})
    rollback = _step("rollback")
    rollback.summaries = [tmp_path / "rollback.md"]
    rollback.summaries[0].write_text(
        "| instance | previous → new |\n| --- | --- |\n| 0 | b → a |\n"
    )
    bad = ReleaseRun("1.1.0", 102, [StageRun("test", "failed", [gate, rollback])])
    bad.stages.append(StageRun("prod", "skipped"))
    html = write_report(tmp_path / "r.html", [good, bad], [], 60).read_text()
    glance = html.split("<h2>At a glance</h2>")[1].split("</table>")[0]
    assert glance.count("<tr>") == 3  # header, 1.0.0, 1.1.0
    assert 'href="#r1.1.0-test"' in glance and 'id="r1.1.0-test"' in html
    assert 'gate <span class="s-Failed">Failed</span><br>rolled back' in glance
    # The failed gate's summary and the rollback's start open; passing steps' stay closed.
    assert html.count("<details open><summary>Summary</summary>") == 2
    assert "<td>b → a</td>" in html
    assert 'Gate verdict: <strong><span class="s-Failed">Failed</span>' in html


def test_chart_has_a_scale_and_shows_missing_data_apart_from_zero() -> None:
    svg = charts.check_chart(charts.CheckSeries("hb", [None, 0.0], ["NoData", "Pass"], "<= 0"))
    assert svg.count("<circle") == 1 and "evaluation 1: no data" in svg
    assert ">1<" in svg and ">0<" in svg  # an all-zero series still gets the axis 0..1
    svg = charts.check_chart(charts.CheckSeries("p95", [180.0, 685.4], ["Pass", "Fail"], "< 300"))
    assert ">685.4<" in svg and "last 685.4" in svg


def test_console_shows_every_gate_check_and_a_summary_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = Console(colour=False)
    for line in (
        "      ##[group]Evaluation 2/60 at 2026-11-26T03:34:52Z",
        "      latencyP95: Fail ▁█ last value 482.5 breaks limit < 300 (1 point)",
        "      heartbeat [critical]: Pass ▅ last value 0 within limit <= 0 (1 point)",
        "      Uploading package to blob storage",
    ):
        out.line(line)
    shown = capsys.readouterr().out
    assert "Evaluation 2/60" in shown and "latencyP95: Fail" in shown and "heartbeat" in shown
    assert "Uploading" not in shown  # chatter stays behind --verbose
    gate = _step("healthGate", "Failed", verdict="Failed")
    test = StageRun("test", "failed", [gate, _step("rollback")])
    out.summary([ReleaseRun("1.1.0", 102, [test, StageRun("prod")])], [], 50)
    assert "test: failed (gate Failed, rolled back)  |  prod: skipped" in capsys.readouterr().out


@pytest.mark.e2e
@pytest.mark.slow
def test_the_demo_runs_the_whole_story(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "ENDPOINT_"))}
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytask", "demo", "--work-dir", str(tmp_path / "demo"),
         "--stage-dir", str(tmp_path / "stage")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=REPO,
    )  # fmt: skip
    # The console is the demo's log: kept beside its work dir for the session's secret scan.
    (tmp_path / "demo-console.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Everything behaved as described" in done.stdout
    assert "== Stage prod: skipped" in done.stdout
    report = (tmp_path / "demo" / "report.html").read_text()
    assert f"Report: {tmp_path / 'demo' / 'report.html'}" in done.stdout
    assert report.count("Gate verdict") == 3  # test and prod for 1.0.0, test for 1.1.0


def test_runner_follows_the_pipeline_semantics(tmp_path: Path) -> None:
    """Outputs across stages, hooks that share only artifacts, on.failure, conditions and
    skipped stages, with bash steps only (no cloud)."""
    from pytask.demo.agent import Agent
    from pytask.demo.runner import Runner

    set_output = 'echo "##vso[task.setvariable variable=v;isOutput=true]hello"'
    record = (
        'mkdir -p "$(Pipeline.Workspace)/rec" && printf %s "$GOT" > "$(Pipeline.Workspace)/rec/got"'
    )
    read = 'echo "##vso[task.setvariable variable=seen]$(cat "$(Pipeline.Workspace)/rec/got")"'
    hooks = {
        "deploy": {
            "steps": [
                {"bash": record, "env": {"GOT": "$(got)"}, "name": "record"},
                {"publish": "$(Pipeline.Workspace)/rec", "artifact": "rec-$(System.StageAttempt)"},
                {"bash": "exit 1", "name": "boom"},
                {"bash": "echo unreachable", "name": "afterBoom"},
            ]
        },
        "on": {
            "failure": {
                "steps": [
                    {"download": "current", "artifact": "rec-$(System.StageAttempt)"},
                    {"bash": read.replace("/rec/", "/rec-1/"), "name": "read"},
                    {
                        "bash": 'echo "##vso[task.setvariable variable=final;isOutput=true]$SEEN"',
                        "name": "report",
                        "condition": "ne(variables['seen'], '')",
                    },
                ]
            },
            "success": {"steps": [{"bash": "echo never", "name": "never"}]},
        },
    }
    pipeline = {
        "stages": [
            {"stage": "A",
             "jobs": [{"job": "make", "steps": [{"bash": set_output, "name": "setv"}]}]},
            {
                "stage": "B",
                "dependsOn": "A",
                "variables": {"got": "$[ stageDependencies.A.make.outputs['setv.v'] ]"},
                "jobs": [
                    {"deployment": "release", "environment": "e", "strategy": {"runOnce": hooks}},
                    {"job": "cleanup", "dependsOn": "release", "condition": "always()",
                     "steps": [{"bash": "echo cleaned", "name": "cleanup"}]},
                    {"job": "later", "dependsOn": "release",
                     "steps": [{"bash": "echo no", "name": "notRun"}]},
                ],
            },
            {"stage": "C", "jobs": [{"job": "x", "steps": [{"bash": "echo x", "name": "x"}]}]},
        ]
    }  # fmt: skip
    (tmp_path / "s").mkdir()
    agent = Agent(tmp_path / "stage", tmp_path / "ready.json", tmp_path / "s")
    run = ReleaseRun("0.0.1", 1)
    lines: list[str] = []
    Runner(agent, lines.append, tmp_path / "run").run(pipeline, run, {"System.StageAttempt": "1"})
    assert [(s.name, s.status) for s in run.stages] == [
        ("A", "succeeded"),
        ("B", "failed"),
        ("C", "skipped"),
    ]
    b = run.stage("B")
    names = [s.name for s in b.steps]
    assert "afterBoom" not in names and "never" not in names and "notRun" not in names
    assert "cleanup" in names
    report = b.step("report")
    assert report is not None and report.outputs == {"final": "hello"}
