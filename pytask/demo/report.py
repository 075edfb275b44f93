"""The HTML report: a table of both releases at a glance, then per release each stage's steps
with their summaries, the health gates' charts (inline SVG from the gate's JSON report) and
the timings; problems first if any."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytask.demo import charts, markdown
from pytask.demo.agent import StepRun
from pytask.demo.model import ReleaseRun, StageRun

# Status colours apply to status words only: a whole red stage is hard to read.
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.s-succeeded,.s-Succeeded,.s-Passed{color:#2e7d32;font-weight:600}
.s-failed,.s-Failed{color:#c62828;font-weight:600}
.s-SucceededWithIssues,.s-Inconclusive{color:#b26a00;font-weight:600}
.s-skipped,.s-missing{color:#777}
.stage{border-left:4px solid #ccc;padding-left:1em;margin:1.2em 0}
.stage.succeeded{border-color:#2e7d32}.stage.failed{border-color:#c62828}
.stage h4{margin:.8em 0 .2em;font-weight:500}.stage h4 .task{font-weight:600}
.error{color:#c62828;background:#fdecea;padding:.3em .6em}
.gate{background:#f7f9fc;border:1px solid #dde3ec;padding:.5em 1em;margin:.5em 0}
.gate.Failed{background:#fdecea;border-color:#f1b0ab}
details{margin:.2em 0 .2em 1em}summary{cursor:pointer;color:#1565c0}
details h5,details h6{font-size:1em;margin:.8em 0 .2em}
.charts svg{margin:4px}.legend{font-size:12px;color:#555}
.problems{background:#fdecea;padding:1em}.ok{color:#2e7d32}
.intro{color:#444}.glance td:first-child{font-weight:600}
"""

INTRO = (
    "Two releases of the sample application <code>contoso-web</code> ran through the pipeline "
    "in <code>pytask/demo/pipeline.yml</code> (Publish, then dev, test and prod) against the "
    "local Azure sandbox, with the packaged tasks exactly as an agent runs them. The sandbox "
    "makes the telemetry of 1.1.0 slow and error-prone, so its health gate in test should "
    "fail, the <code>on.failure</code> hook should roll the test scale set back, and prod "
    "should never be touched."
)
LEGEND = (
    '<p class="legend">Each chart: one point per gate evaluation (green pass, red fail, amber '
    "inconclusive; a grey mark at the bottom means no data yet), the dashed red line is the "
    "check's limit. Open <em>Summary</em> for the table of every evaluation with its "
    "statistics, as the pipeline run's Extensions tab shows it.</p>"
)


def write_report(
    path: Path, runs: Sequence[ReleaseRun], problems: Sequence[str], seconds: float
) -> Path:
    body = [
        "<h1>VM Application Release: demo report</h1>",
        f'<p class="intro">{INTRO} Total time {seconds:.0f} s.</p>',
    ]
    if problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
        body.append(f'<div class="problems"><h2>Not as described</h2><ul>{items}</ul></div>')
    else:
        body.append(
            '<p class="ok"><strong>Everything behaved as described: 1.0.0 reached prod; '
            "1.1.0 was stopped by the health gate in test, rolled back, and never reached prod."
            "</strong></p>"
        )
    body.append(_glance(runs))
    body += [_release(run) for run in runs]
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>VM Application Release demo</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    path.write_text(document, encoding="utf-8")
    return path


def _status(text: str) -> str:
    return f'<span class="s-{html.escape(text)}">{html.escape(text)}</span>'


def _anchor(run: ReleaseRun, stage: str) -> str:
    return html.escape(f"r{run.version}-{stage}")


def _glance(runs: Sequence[ReleaseRun]) -> str:
    """One row per release, one cell per stage: what a release manager asks first."""
    names = list(dict.fromkeys(s.name for run in runs for s in run.stages))
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for run in runs:
        cells = [_glance_cell(run, run.stage(name)) for name in names]
        rows.append(f"<tr><td>{html.escape(run.version)}</td>{''.join(cells)}</tr>")
    return (
        f'<h2>At a glance</h2><table class="glance"><tr><th>Release</th>{head}</tr>'
        f"{''.join(rows)}</table>"
    )


def _glance_cell(run: ReleaseRun, stage: StageRun) -> str:
    parts = [f'<a href="#{_anchor(run, stage.name)}">{_status(stage.status)}</a>']
    gate = stage.step("healthGate")
    if gate is not None:
        parts.append(f"gate {_status(gate.outputs.get('verdict', '?'))}")
    if stage.step("rollback") is not None:
        parts.append("rolled back")
    return f"<td>{'<br>'.join(parts)}</td>"


def _release(run: ReleaseRun) -> str:
    timings = charts.timing_chart([(s.name, s.seconds, s.status) for s in run.stages])
    stages = "".join(_stage(run, stage) for stage in run.stages)
    return f"<h2>Release {html.escape(run.version)} (build {run.build_id})</h2>{timings}{stages}"


def _stage(run: ReleaseRun, stage: StageRun) -> str:
    head = (
        f'<div class="stage {stage.status}" id="{_anchor(run, stage.name)}">'
        f"<h3>Stage {html.escape(stage.name)}: {_status(stage.status)} "
        f"({stage.seconds:.1f} s)</h3>"
    )
    return head + "".join(_step(step) for step in stage.steps) + "</div>"


def _step(step: StepRun) -> str:
    parts = [
        f'<h4><span class="task">{html.escape(step.task)}@1</span> '
        f"<code>{html.escape(step.name)}</code>: {_status(step.result)} ({step.seconds:.1f} s)</h4>"
    ]
    parts += [f'<p class="error">{html.escape(e)}</p>' for e in step.errors]
    report = step.outputs.get("report")
    if step.task == "HealthGate" and report and Path(report).is_file():
        parts.append(_gate_charts(json.loads(Path(report).read_text("utf-8"))))
    # A failed step's summary, and the rollback's (which versions went back), are what a
    # reader came for, so they start open.
    expanded = " open" if not step.succeeded or step.name == "rollback" else ""
    for summary in step.summaries:
        if summary.is_file():
            parts.append(
                f"<details{expanded}><summary>Summary</summary>"
                f"{markdown.to_html(summary.read_text('utf-8'))}</details>"
            )
    shown = {k: v for k, v in step.outputs.items() if k not in step.secrets}
    if shown:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v[:300])}</code></td></tr>"
            for k, v in shown.items()
        )
        parts.append(f"<details><summary>Outputs</summary><table>{rows}</table></details>")
    return "".join(parts)


def _gate_charts(report: dict[str, Any]) -> str:
    verdict = report.get("verdict") or {}
    svgs = []
    for check in report.get("checks", []):
        results = check.get("results") or []
        limit = str(((results[-1] if results else {}).get("explanation") or {}).get("limit", ""))
        series = charts.CheckSeries(
            name=str(check.get("name")) + (" (critical)" if check.get("critical") else ""),
            values=[v if isinstance(v, (int, float)) else None for v in check.get("series", [])],
            classes=[str(c) for c in check.get("timeline", [])],
            limit=limit,
        )
        svgs.append(charts.check_chart(series))
    reason = html.escape(str(verdict.get("reason", "")))
    # `outcome` is the task's `verdict` output (Passed/Failed/Inconclusive); older reports
    # carried only the task result.
    outcome = str(verdict.get("outcome") or verdict.get("verdict", ""))
    return (
        f'<div class="gate {html.escape(outcome)}"><p>Gate verdict: '
        f"<strong>{_status(outcome)}</strong>: {reason}</p>"
        f'<div class="charts">{"".join(svgs)}</div>{LEGEND}</div>'
    )
