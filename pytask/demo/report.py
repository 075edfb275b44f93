"""The HTML report: per release, each stage's steps with their summaries, the health gates'
charts (inline SVG from the gate's JSON report) and the timings; problems first if any."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytask.demo import charts, markdown
from pytask.demo.agent import StepRun
from pytask.demo.model import ReleaseRun, StageRun

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
.succeeded,.Succeeded{color:#2e7d32}.failed,.Failed{color:#c62828}.skipped{color:#777}
.stage{border-left:4px solid #ccc;padding-left:1em;margin:1em 0}
.stage.succeeded{border-color:#2e7d32}.stage.failed{border-color:#c62828}
details{margin:.3em 0}.charts svg{margin:4px}.problems{background:#fdecea;padding:1em}
"""


def write_report(
    path: Path, runs: Sequence[ReleaseRun], problems: Sequence[str], seconds: float
) -> Path:
    body = [f"<h1>VM Application Release: demo report</h1><p>Total time {seconds:.0f} s.</p>"]
    if problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
        body.append(f'<div class="problems"><h2>Not as described</h2><ul>{items}</ul></div>')
    else:
        body.append(
            '<p class="succeeded"><strong>Everything behaved as described: 1.0.0 reached prod; '
            "1.1.0 was stopped by the health gate in test, rolled back, and never reached prod."
            "</strong></p>"
        )
    body += [_release(run) for run in runs]
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>VM Application Release demo</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    path.write_text(document, encoding="utf-8")
    return path


def _release(run: ReleaseRun) -> str:
    timings = charts.timing_chart([(s.name, s.seconds, s.status) for s in run.stages])
    stages = "".join(_stage(stage) for stage in run.stages)
    return f"<h2>Release {html.escape(run.version)} (build {run.build_id})</h2>{timings}{stages}"


def _stage(stage: StageRun) -> str:
    head = (
        f'<div class="stage {stage.status}"><h3>Stage {html.escape(stage.name)}: '
        f'<span class="{stage.status}">{stage.status}</span> ({stage.seconds:.1f} s)</h3>'
    )
    return head + "".join(_step(step) for step in stage.steps) + "</div>"


def _step(step: StepRun) -> str:
    parts = [
        f"<h4>{html.escape(step.task)}@1 <code>{html.escape(step.name)}</code>: "
        f'<span class="{step.result}">{html.escape(step.result)}</span> ({step.seconds:.1f} s)</h4>'
    ]
    parts += [f'<p class="failed">{html.escape(e)}</p>' for e in step.errors]
    report = step.outputs.get("report")
    if step.task == "HealthGate" and report and Path(report).is_file():
        parts.append(_gate_charts(json.loads(Path(report).read_text("utf-8"))))
    for summary in step.summaries:
        if summary.is_file():
            parts.append(
                "<details><summary>Summary</summary>"
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
            name=str(check.get("name")),
            values=[v if isinstance(v, (int, float)) else None for v in check.get("series", [])],
            classes=[str(c) for c in check.get("timeline", [])],
            limit=limit,
        )
        svgs.append(charts.check_chart(series))
    reason = html.escape(str(verdict.get("reason", "")))
    outcome = html.escape(str(verdict.get("verdict", "")))
    return (
        f'<p>Gate verdict: <strong class="{outcome}">{outcome}</strong>: {reason}</p>'
        f'<div class="charts">{"".join(svgs)}</div>'
    )
