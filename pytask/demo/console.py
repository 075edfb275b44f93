"""Readable terminal output: stage banners, each step's progress, verdicts, a final table.
Task log lines are shown in full with --verbose; otherwise only the ones worth reading."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytask.demo.model import ReleaseRun

_COLOURS = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
# Lines a task logs that tell the story of a release (the rest are shown with --verbose).
_INTERESTING = (
    "verdict",
    "batch",
    "rolled back",
    "rollback",
    "replicat",
    "created",
    "deleted",
    "reus",
    "published",
    "failed",
    "passed",
    "error",
    "warning",
    "check",
    "evaluation ",
)
# HealthGate's line per check and evaluation ("latencyP95: Fail ▁█ last value 442 breaks...").
# Its check names are the user's own, so matching words would show some checks and not others.
_GATE_RESULT = re.compile(r"^\S+( \[critical\])?: (Pass|Fail|Inconclusive|NoData)\b")


def _interesting(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in _INTERESTING) or bool(_GATE_RESULT.match(line))


@dataclass
class Console:
    verbose: bool = False
    colour: bool = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None

    def paint(self, text: str, *styles: str) -> str:
        if not self.colour:
            return text
        codes = ";".join(_COLOURS[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def title(self, text: str) -> None:
        print("\n" + self.paint(f"### {text}", "bold", "cyan"), flush=True)

    def fail(self, text: str) -> None:
        print(self.paint(text, "red", "bold"), file=sys.stderr, flush=True)

    def line(self, text: str) -> None:
        stripped = text.strip()
        if stripped.startswith("== Stage"):
            style = (
                ("red",) if "failed" in stripped else ("green",) if "succeeded" in stripped else ()
            )
            print(self.paint(text, "bold", *style), flush=True)
        elif stripped.startswith("<-"):
            bad = "Failed" in stripped
            print(self.paint(text, "red" if bad else "green"), flush=True)
        elif stripped.startswith("->"):
            print(self.paint(text, "bold"), flush=True)
        elif text.startswith("      "):
            if stripped.startswith("##[endgroup]"):
                return
            text = text.replace("##[group]", "").replace("##[section]", "")
            if self.verbose or _interesting(stripped):
                shade = "red" if stripped.startswith("error") else "dim"
                print(self.paint(text, shade), flush=True)
        else:
            print(text, flush=True)

    def summary(self, runs: Sequence[ReleaseRun], problems: Sequence[str], seconds: float) -> None:
        self.title("Summary")
        for run in runs:
            cells = []
            for stage in run.stages:
                gate = stage.step("healthGate")
                notes = [f"gate {gate.outputs.get('verdict', '?')}"] if gate else []
                notes += ["rolled back"] if stage.step("rollback") else []
                extra = f" ({', '.join(notes)})" if notes else ""
                colour = {"succeeded": "green", "failed": "red"}.get(stage.status, "yellow")
                cells.append(self.paint(f"{stage.name}: {stage.status}{extra}", colour))
            print(f"  {run.version}  " + "  |  ".join(cells))
        print(f"  total {seconds:.0f} s")
        if problems:
            self.fail("The demo did NOT behave as described:")
            for problem in problems:
                self.fail(f"  - {problem}")
        else:
            print(
                self.paint(
                    "  Everything behaved as described: 1.0.0 reached prod; 1.1.0 was "
                    "stopped by the health gate in test, rolled back, and never reached "
                    "prod.",
                    "green",
                    "bold",
                )
            )
